"""Entrypoints: the HTTP API, the CLI and background workers."""

__all__: list[str] = []
