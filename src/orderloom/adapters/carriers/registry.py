"""The typed carrier registry: built-in adapters plus third-party ones from the ``orderloom.carriers`` entry-point
group (each entry point names an object with ``name``, ``formats``, ``home_zone`` and ``parse(payload)``)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points

from orderloom.adapters.carriers.base import CarrierAdapter
from orderloom.domain.tracking import TrackingOutcome, TrackingParseError

__all__ = [
    "BUILTIN_CARRIERS",
    "ENTRY_POINT_GROUP",
    "CarrierRegistry",
    "GuardedAdapter",
    "UnknownCarrier",
    "default_registry",
]

ENTRY_POINT_GROUP = "orderloom.carriers"
BUILTIN_CARRIERS = (
    "ups",
    "fedex",
    "usps",
    "dhl_express",
    "dhl_parcel_de",
    "dhl_universal",
    "dhl_poland",
    "canadapost",
    "royalmail",
    "australiapost",
    "aramex",
    "sf_express",
    "yunexpress",
    "yanwen",
)


class UnknownCarrier(LookupError):
    """No adapter is registered under that name."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(f"unknown carrier {name!r}; known carriers: {', '.join(sorted(known))}")
        self.name = name


class GuardedAdapter:
    """Holds an adapter to its contract: a payload of an unexpected shape (a number where an object was, a missing
    list, ...) surfaces as TrackingParseError, never as AttributeError/TypeError/KeyError from deep in a parser."""

    def __init__(self, inner: CarrierAdapter) -> None:
        self.inner = inner
        self.name = inner.name
        self.formats = inner.formats
        self.home_zone = inner.home_zone

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """The inner adapter's outcomes, or TrackingParseError."""
        try:
            return self.inner.parse(payload)
        except TrackingParseError:
            raise
        except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as exc:
            raise TrackingParseError(self.name, f"unexpected structure ({type(exc).__name__}: {exc})") from None


class CarrierRegistry:
    """Carrier name → adapter."""

    def __init__(self, adapters: Iterable[CarrierAdapter] = ()) -> None:
        self._adapters: dict[str, CarrierAdapter] = {}
        for adapter in adapters:
            self.register(adapter)

    def register(self, adapter: CarrierAdapter) -> None:
        """Add (or replace) an adapter; it must satisfy the CarrierAdapter protocol."""
        if not isinstance(adapter, CarrierAdapter) or not adapter.name:
            raise TypeError(f"{adapter!r} is not a carrier adapter (name, formats, home_zone, parse)")
        self._adapters[adapter.name] = adapter if isinstance(adapter, GuardedAdapter) else GuardedAdapter(adapter)

    def get(self, name: str) -> CarrierAdapter:
        """The adapter for a carrier name; raises UnknownCarrier."""
        try:
            return self._adapters[name]
        except KeyError:
            raise UnknownCarrier(name, self._adapters) from None

    def names(self) -> list[str]:
        """Registered carrier names, sorted."""
        return sorted(self._adapters)

    def as_mapping(self) -> Mapping[str, CarrierAdapter]:
        """Read-only view."""
        return dict(self._adapters)


def default_registry(*, plugins: bool = True) -> CarrierRegistry:
    """The built-in adapters, then any installed plugins (a plugin may replace a built-in)."""
    registry = CarrierRegistry(
        importlib.import_module(f"orderloom.adapters.carriers.{name}").ADAPTER for name in BUILTIN_CARRIERS
    )
    if plugins:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            registry.register(ep.load())
    return registry
