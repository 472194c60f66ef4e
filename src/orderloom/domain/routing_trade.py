"""Cross-border trade terms routing prices in: import duty by origin and destination country (with a preferential
rate when both are members of a trade agreement such as RCEP) and per-order value limits by location type (e.g. the
single-transaction limit of China's cross-border e-commerce retail imports from bonded warehouses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from orderloom.domain.errors import DomainError

__all__ = ["InvalidTradeTable", "TradeRules", "parse_trade_rules"]


class InvalidTradeTable(DomainError):
    """A tariff table that can't be used; names the entry."""


@dataclass(frozen=True, slots=True)
class TradeRules:
    """Duty rates (fractions of the goods value) and per-order value limits, in ``currency``."""

    currency: str
    default_rate: Decimal
    mfn: Mapping[str, Decimal]  # destination country → most-favoured-nation rate
    preferential: Mapping[str, Decimal]  # destination country → rate for origins in the same agreement
    members: frozenset[str]  # the agreement's member countries
    pairs: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)  # (origin, destination) → rate
    value_limits: Mapping[str, Decimal] = field(default_factory=dict)  # location type → most goods value per order

    def duty_rate(self, origin: str | None, destination: str | None) -> Decimal:
        """The rate for goods from ``origin`` into ``destination``: a pair override, else the preferential rate when
        both are members, else the destination's MFN rate, else the default; 0 inside one country."""
        if origin is None or destination is None or origin == destination:
            return Decimal(0)
        if (origin, destination) in self.pairs:
            return self.pairs[(origin, destination)]
        if origin in self.members and destination in self.members and destination in self.preferential:
            return self.preferential[destination]
        return self.mfn.get(destination, self.default_rate)

    def value_limit(self, location_type: str) -> Decimal | None:
        """The most goods value one order may have when shipped from this type of location (None: no limit)."""
        return self.value_limits.get(location_type)


def _rate(value: Any, where: str, *, fraction: bool = True) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation as e:
        raise InvalidTradeTable(f"{where}: not a number ({value!r})") from e
    if not d.is_finite() or d < 0 or (fraction and d > 1):
        raise InvalidTradeTable(f"{where}: must be {'a rate from 0 to 1' if fraction else '≥ 0'} ({value!r})")
    return d


def _rates(raw: Any, where: str) -> dict[str, Decimal]:
    if not isinstance(raw, Mapping):
        raise InvalidTradeTable(f"{where}: must be a mapping of country → rate")
    return {str(k): _rate(v.get("rate") if isinstance(v, Mapping) else v, f"{where}.{k}") for k, v in raw.items()}


def parse_trade_rules(raw: Mapping[str, Any]) -> TradeRules:
    """Trade rules from their data form (``data/routing/tariffs.yaml``); InvalidTradeTable names a bad entry."""
    pairs: dict[tuple[str, str], Decimal] = {}
    for i, row in enumerate(raw.get("pairs") or []):
        try:
            key = (str(row["origin"]), str(row["destination"]))
        except (KeyError, TypeError) as e:
            raise InvalidTradeTable(f"pairs[{i}]: origin and destination are required") from e
        pairs[key] = _rate(row.get("rate"), f"pairs[{i}].rate")
    limits = raw.get("value_limits") or {}
    if not isinstance(limits, Mapping):
        raise InvalidTradeTable("value_limits: must be a mapping of location type → amount")
    return TradeRules(
        currency=str(raw.get("currency", "CNY")),
        default_rate=_rate(raw.get("default_rate", 0), "default_rate"),
        mfn=_rates(raw.get("mfn") or {}, "mfn"),
        preferential=_rates(raw.get("rcep") or {}, "rcep"),
        members=frozenset(str(c) for c in raw.get("rcep_members") or ()),
        pairs=pairs,
        value_limits={
            str(k): _rate(v.get("amount") if isinstance(v, Mapping) else v, f"value_limits.{k}", fraction=False)
            for k, v in limits.items()
        },
    )
