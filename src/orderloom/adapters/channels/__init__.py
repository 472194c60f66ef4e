"""Channel adapters: one package per sales channel, each mapping native payloads to canonical orders/commands."""

from orderloom.adapters.channels.base import ChannelAdapter, MappingError
from orderloom.adapters.channels.registry import ChannelRegistry, UnknownChannel, default_registry

__all__ = ["ChannelAdapter", "ChannelRegistry", "MappingError", "UnknownChannel", "default_registry"]
