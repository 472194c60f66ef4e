"""JD POP channel adapter."""

from orderloom.adapters.channels.jd.adapter import JdAdapter

__all__ = ["JdAdapter"]
