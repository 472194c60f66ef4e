"""Reads the shipped delay-risk model (``data/models/delay_risk.json``, trained by bench/train_delay_model.py)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from orderloom.domain.delay_risk import DelayFeatures, DelayModel

__all__ = ["load_delay_model", "predict_delay_risk"]


@cache
def load_delay_model() -> DelayModel:
    """The shipped model, parsed once per process."""
    text = resources.files("orderloom.data").joinpath("models/delay_risk.json").read_text(encoding="utf-8")
    return DelayModel.from_dict(json.loads(text))


def predict_delay_risk(features: DelayFeatures) -> float:
    """The shipped model's probability that a shipment misses its promised time."""
    return load_delay_model().predict(features)
