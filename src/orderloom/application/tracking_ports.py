"""Ports of shipment tracking: carrier parsers and the raw-code maps (adapters implement them)."""

from __future__ import annotations

from typing import Protocol

from orderloom.domain.tracking import TrackingOutcome
from orderloom.domain.tracking_mapping import CarrierCodeMap

__all__ = ["CarrierParser", "CarrierParsers", "CodeMaps"]


class CarrierParser(Protocol):
    """Reads one carrier's tracking responses."""

    name: str

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """Every tracking number in the payload; TrackingParseError if malformed."""
        ...


class CarrierParsers(Protocol):
    """Carrier name → parser (raises a LookupError for an unknown name)."""

    def get(self, name: str) -> CarrierParser:
        """The parser for a carrier."""
        ...

    def names(self) -> list[str]:
        """Known carriers."""
        ...


class CodeMaps(Protocol):
    """Carrier name → its code map (None when the carrier has no map yet)."""

    def code_map(self, carrier: str) -> CarrierCodeMap | None:
        """The current map of a carrier."""
        ...
