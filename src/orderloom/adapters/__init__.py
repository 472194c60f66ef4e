"""Adapters: the real implementations of the application's ports."""

__all__: list[str] = []
