"""The ``orderloom`` command line (Typer + rich)."""

__all__: list[str] = []
