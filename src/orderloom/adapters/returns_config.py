"""Loads the returns data files: reason codes and the default return authorisation rule set."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from orderloom.domain.returns import ReturnReasons

__all__ = ["load_default_return_rules", "load_return_reasons"]


def load_return_reasons(text: str | None = None) -> ReturnReasons:
    """Read and check ``data/return_reasons.yaml`` (or the given YAML text)."""
    if text is None:
        text = resources.files("orderloom.data").joinpath("return_reasons.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    return ReturnReasons.from_definition(definition)


def load_default_return_rules() -> dict[str, Any]:
    """The default ``returns`` rule set document (``data/returns_rules.yaml``)."""
    text = resources.files("orderloom.data").joinpath("returns_rules.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document
