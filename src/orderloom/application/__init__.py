"""Application layer: ports, use cases (one module per capability) and the message bus."""

__all__: list[str] = []
