"""The routing cost model as data: ``data/routing/rates.yaml`` read and checked."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from orderloom.domain.routing import InvalidRateTable, RateTable, parse_rate_table
from orderloom.domain.routing_trade import InvalidTradeTable, TradeRules, parse_trade_rules

__all__ = ["load_rates", "load_trade_rules"]


def load_rates(path: Path | None = None) -> RateTable:
    """The packaged rate table, or the one in ``path``; InvalidRateTable names a bad entry."""
    if path is None:
        text = resources.files("orderloom.data").joinpath("routing/rates.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise InvalidRateTable("the rate table must be a YAML mapping")
    return parse_rate_table(raw)


def load_trade_rules(path: Path | None = None) -> TradeRules:
    """The packaged tariff table (``data/routing/tariffs.yaml``), or the one in ``path``."""
    if path is None:
        text = resources.files("orderloom.data").joinpath("routing/tariffs.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise InvalidTradeTable("the tariff table must be a YAML mapping")
    return parse_trade_rules(raw)
