"""Raw carrier codes → our shipment status, as data: one code map per carrier and API format.

Order of a lookup: description rules (for ambiguous codes, and for carriers that send only words), then the code
table, then the carrier's own status class (e.g. UPS activity type, FedEx derived code). Nothing matched → the
event is ``unmapped`` with no status: never guessed. ``informational`` codes are known but change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from orderloom.domain.tracking import (
    MappingOutcome,
    NoTracking,
    ShipmentStatus,
    TrackingEvent,
    TrackingOutcome,
)

__all__ = ["CarrierCodeMap", "DescriptionRule", "FormatCodeMap", "Verdict"]

Verdict = tuple[ShipmentStatus | None, MappingOutcome]


@dataclass(frozen=True, slots=True)
class DescriptionRule:
    """A regular expression on the description (optionally only for one code) that decides the status."""

    pattern: re.Pattern[str]
    status: ShipmentStatus | None  # None: informational
    code: str | None = None

    def matches(self, code: str | None, description: str) -> bool:
        """True if the rule applies to this code and description."""
        if self.code is not None and self.code != code:
            return False
        return self.pattern.search(description) is not None


@dataclass(frozen=True, slots=True)
class FormatCodeMap:
    """The code map of one carrier API format (e.g. FedEx REST or FedEx Web Services)."""

    codes: Mapping[str, ShipmentStatus | None] = field(default_factory=dict)
    categories: Mapping[str, ShipmentStatus | None] = field(default_factory=dict)
    rules: tuple[DescriptionRule, ...] = ()
    strip_leading_zeros: bool = False
    case_insensitive: bool = False

    def normalize(self, code: str | None) -> str | None:
        """The code as the table spells it."""
        if code is None:
            return None
        code = code.strip()
        if self.strip_leading_zeros and code.isdigit():
            code = code.lstrip("0") or "0"
        return code.lower() if self.case_insensitive else code

    def classify(self, code: str | None, description: str | None, category: str | None = None) -> Verdict:
        """Status and outcome for one raw code / description / carrier status class."""
        key = self.normalize(code)
        text = description or ""
        for rule in self.rules:
            if rule.matches(key, text):
                return rule.status, "mapped" if rule.status else "informational"
        for table, value in ((self.codes, key), (self.categories, self.normalize(category))):
            if value is not None and value in table:
                status = table[value]
                return status, "mapped" if status else "informational"
        return None, "unmapped"

    def knows(self, code: str) -> bool:
        """True if the code (or, for word-coded carriers, the text) is covered by the table or a code-less rule."""
        key = self.normalize(code)
        if key in self.codes or key in self.categories:
            return True
        return any(rule.code is None and rule.pattern.search(code) for rule in self.rules)


@dataclass(frozen=True, slots=True)
class CarrierCodeMap:
    """All formats of one carrier; applies the mapping to parsed results."""

    carrier: str
    formats: Mapping[str, FormatCodeMap]

    def format(self, api_format: str) -> FormatCodeMap:
        """The map for one API format (the first one if the format has no own table)."""
        found = self.formats.get(api_format)
        if found is None:
            return next(iter(self.formats.values()))
        return found

    def map_event(self, api_format: str, event: TrackingEvent) -> TrackingEvent:
        """The event with its status and mapping outcome set."""
        status, outcome = self.format(api_format).classify(event.raw_code, event.raw_description, event.raw_category)
        return replace(event, status=status, mapping=outcome)

    def apply(self, outcome: TrackingOutcome) -> TrackingOutcome:
        """Map every event; the shipment status is the latest mapped event's, else the carrier's shipment status."""
        if isinstance(outcome, NoTracking):
            return outcome
        events = tuple(self.map_event(outcome.api_format, e) for e in outcome.events)
        status = next((e.status for e in reversed(events) if e.status is not None), None)
        if status is None and (outcome.carrier_status_code or outcome.carrier_status_text):
            status, _ = self.format(outcome.api_format).classify(
                outcome.carrier_status_code, outcome.carrier_status_text
            )
        return replace(outcome, events=events, status=status)
