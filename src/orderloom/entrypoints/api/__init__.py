"""The HTTP API (FastAPI): one router module per resource."""

__all__: list[str] = []
