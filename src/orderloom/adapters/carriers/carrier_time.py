"""Carrier times to aware UTC: an explicit offset wins; else the zone of the scan's location; else the carrier's home
zone; else the wall-clock time is read as UTC and marked ``assumed_utc`` (never silently)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from orderloom.domain.tracking import Location, TimeBasis

__all__ = ["StampedTime", "ZoneBook", "parse_date", "stamp", "zone_book"]

_OFFSET = re.compile(r"^([+-])(\d{1,2})(?::?(\d{2}))?$")


@dataclass(frozen=True, slots=True)
class StampedTime:
    """A UTC time with how it was found and the carrier's local text."""

    utc: datetime
    basis: TimeBasis
    local: str


class ZoneBook:
    """Country / region / abbreviation → time zone, from ``data/carriers/zones.yaml``."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.countries: dict[str, str] = dict(doc["countries"])
        self.names: dict[str, str] = {k.lower(): v for k, v in doc["country_names"].items()}
        self.regions: dict[str, dict[str, str]] = {k: dict(v) for k, v in doc["regions"].items()}
        self.abbreviations: dict[str, str] = dict(doc["abbreviations"])

    def country_code(self, text: str | None) -> str | None:
        """ISO alpha-2 code for a code or an English country name, if known."""
        if not text:
            return None
        t = text.strip()
        if len(t) == 2 and t.isalpha():
            return t.upper()
        return self.names.get(t.lower())

    def zone_for(self, location: Location | None) -> ZoneInfo | None:
        """The zone of a location: by region for multi-zone countries, else by country."""
        if location is None:
            return None
        country = self.country_code(location.country)
        name = None
        if country in self.regions and location.region:
            name = self.regions[country].get(location.region.strip().upper())
        if name is None and country:
            name = self.countries.get(country)
        return _zone(name) if name else None

    def offset(self, text: str | None) -> timezone | None:
        """A fixed offset from ``+08:00``, ``+8``, ``-0500`` or an abbreviation such as ``EST``."""
        if not text:
            return None
        t = self.abbreviations.get(text.strip().upper(), text.strip())
        m = _OFFSET.match(t)
        if not m:
            return None
        sign = -1 if m.group(1) == "-" else 1
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return timezone(sign * delta)


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def zone_book() -> ZoneBook:
    """The packaged zone table (read once)."""
    text = resources.files("orderloom.data").joinpath("carriers/zones.yaml").read_text(encoding="utf-8")
    return ZoneBook(yaml.safe_load(text))


def stamp(
    value: datetime,
    *,
    location: Location | None = None,
    offset: str | None = None,
    carrier_zone: str | None = None,
) -> StampedTime:
    """Turn a carrier time (aware, or naive local wall-clock time) into UTC and say how."""
    local = value.isoformat()
    if value.tzinfo is not None:
        return StampedTime(value.astimezone(UTC), "offset" if value.utcoffset() else "utc", local)
    book = zone_book()
    fixed = book.offset(offset)
    if fixed is not None:
        return StampedTime(value.replace(tzinfo=fixed).astimezone(UTC), "offset", local)
    zone = book.zone_for(location)
    if zone is not None:
        return StampedTime(value.replace(tzinfo=zone).astimezone(UTC), "zone", local)
    home = _zone(carrier_zone) if carrier_zone else None
    if home is not None:
        return StampedTime(value.replace(tzinfo=home).astimezone(UTC), "carrier_zone", local)
    return StampedTime(value.replace(tzinfo=UTC), "assumed_utc", local)


def parse_date(text: str | None) -> date | None:
    """``YYYY-MM-DD`` (optionally followed by a time) → date; anything else → None (placeholders are common)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
