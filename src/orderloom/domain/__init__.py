"""The domain: orders, money, the lifecycle state machine and audit. Standard library only."""

__all__: list[str] = []
