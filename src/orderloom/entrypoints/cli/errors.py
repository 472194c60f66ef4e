"""The CLI's own error: reported as one line on stderr with a non-zero exit."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """A failure to report as one line and a non-zero exit."""
