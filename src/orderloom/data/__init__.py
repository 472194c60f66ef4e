"""The system's tables as data: the lifecycle state machine, status taxonomy, channel and carrier maps."""

__all__: list[str] = []
