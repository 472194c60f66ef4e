"""Reads ``data/sla.yaml`` and validates it against the lifecycle."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.sla import SlaDefinitionError, SlaPolicy

__all__ = ["load_sla_policy"]


def load_sla_policy(lifecycle: Lifecycle, text: str | None = None) -> SlaPolicy:
    """The SLA policy from ``data/sla.yaml`` (or the given YAML text); SlaDefinitionError if it is invalid."""
    if text is None:
        text = resources.files("orderloom.data").joinpath("sla.yaml").read_text(encoding="utf-8")
    try:
        definition: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SlaDefinitionError(f"sla.yaml is not valid YAML: {exc}") from exc
    if not isinstance(definition, dict):
        raise SlaDefinitionError("sla.yaml must be a mapping with a 'rules' list")
    return SlaPolicy.from_definition(definition, lifecycle)
