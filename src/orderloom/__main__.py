"""``python -m orderloom``: the same as the ``orderloom`` command."""

from orderloom.entrypoints.cli.main import run

run()
