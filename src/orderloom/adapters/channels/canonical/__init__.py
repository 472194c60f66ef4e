"""The canonical channel (own web shop / WeChat mini-program / files): canonical JSON as is."""

from orderloom.adapters.channels.canonical.adapter import CanonicalAdapter

__all__ = ["CanonicalAdapter"]
