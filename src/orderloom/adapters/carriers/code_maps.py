"""Loads ``data/carriers/<name>.yaml`` into domain code maps, checking every status against the lifecycle.

A map file may be edited while the service runs: ``CodeMapStore`` re-reads a file when its modification time
changes (and on demand), so an operator can add a mapping for an unmapped code without a restart."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from orderloom.domain.tracking import ShipmentStatus
from orderloom.domain.tracking_mapping import CarrierCodeMap, DescriptionRule, FormatCodeMap

__all__ = [
    "CodeMapError",
    "CodeMapStore",
    "LoadedMap",
    "default_map_dir",
    "load_code_map",
    "load_shipment_actions",
    "parse_code_map",
]

INFO = "info"


class CodeMapError(ValueError):
    """A carrier map file that is not valid (unknown status, bad regex, wrong shape)."""


@dataclass(frozen=True, slots=True)
class LoadedMap:
    """A code map plus the file facts the tests and docs use (karrio coverage, documented differences)."""

    code_map: CarrierCodeMap
    home_zone: str | None
    karrio: Mapping[str, tuple[str, ...]]
    karrio_differs: Mapping[str, Mapping[str, str]]


def default_map_dir() -> Path:
    """The packaged ``data/carriers`` directory."""
    return Path(str(resources.files("orderloom.data").joinpath("carriers")))


def _status(value: Any, valid: frozenset[str], where: str) -> ShipmentStatus | None:
    if value == INFO:
        return None
    if not isinstance(value, str) or value not in valid:
        raise CodeMapError(f"{where}: {value!r} is not a lifecycle status (main.sub) or 'info'")
    main, _, sub = value.partition(".")
    return ShipmentStatus(main, sub)


def _rule(raw: Any, valid: frozenset[str], where: str, ci: bool) -> DescriptionRule:
    if not isinstance(raw, Mapping) or "pattern" not in raw or "status" not in raw:
        raise CodeMapError(f"{where}: a rule needs 'pattern' and 'status'")
    try:
        pattern = re.compile(str(raw["pattern"]))
    except re.error as exc:
        raise CodeMapError(f"{where}: bad pattern {raw['pattern']!r}: {exc}") from None
    code = raw.get("code")
    if code is not None:
        code = str(code).lower() if ci else str(code)
    return DescriptionRule(pattern, _status(raw["status"], valid, where), code)


def _format(raw: Any, valid: frozenset[str], where: str) -> FormatCodeMap:
    if not isinstance(raw, Mapping):
        raise CodeMapError(f"{where}: expected a mapping")
    ci = bool(raw.get("case_insensitive", False))

    def table(name: str) -> dict[str, ShipmentStatus | None]:
        entries = raw.get(name) or {}
        if not isinstance(entries, Mapping):
            raise CodeMapError(f"{where}.{name}: expected a mapping")
        return {
            (str(k).lower() if ci else str(k)): _status(v, valid, f"{where}.{name}.{k}") for k, v in entries.items()
        }

    rules = tuple(_rule(r, valid, f"{where}.rules[{i}]", ci) for i, r in enumerate(raw.get("rules") or []))
    return FormatCodeMap(
        codes=table("codes"),
        categories=table("categories"),
        rules=rules,
        strip_leading_zeros=bool(raw.get("strip_leading_zeros", False)),
        case_insensitive=ci,
    )


def parse_code_map(doc: Any, valid_statuses: Iterable[str], *, source: str = "<map>") -> LoadedMap:
    """Validate one carrier map document (already read from YAML)."""
    valid = frozenset(valid_statuses)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("formats"), Mapping) or not doc["formats"]:
        raise CodeMapError(f"{source}: needs 'carrier' and a non-empty 'formats' mapping")
    carrier = str(doc.get("carrier") or "")
    if not carrier:
        raise CodeMapError(f"{source}: needs 'carrier'")
    formats = {str(name): _format(raw, valid, f"{source}:{name}") for name, raw in doc["formats"].items()}
    karrio = {str(n): tuple(str(k) for k in (raw.get("karrio") or ())) for n, raw in doc["formats"].items()}
    differs = {
        str(n): {str(k): str(v) for k, v in (raw.get("karrio_differs") or {}).items()}
        for n, raw in doc["formats"].items()
    }
    return LoadedMap(CarrierCodeMap(carrier, formats), doc.get("home_zone"), karrio, differs)


def load_code_map(path: Path, valid_statuses: Iterable[str]) -> LoadedMap:
    """Read and validate one ``<carrier>.yaml``."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CodeMapError(f"{path}: {exc}") from None
    return parse_code_map(doc, valid_statuses, source=path.name)


class CodeMapStore:
    """All carrier maps of a directory, re-read when a file changes (``refresh``) or on demand (``reload``)."""

    def __init__(self, valid_statuses: Iterable[str], directory: Path | None = None) -> None:
        self._valid = frozenset(valid_statuses)
        self._dir = directory or default_map_dir()
        self._lock = threading.Lock()
        self._maps: dict[str, LoadedMap] = {}
        self._mtimes: dict[str, float] = {}
        self.reload()

    @property
    def directory(self) -> Path:
        """Where the map files are read from."""
        return self._dir

    def _files(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self._dir.glob("*.yaml")) if p.stem not in ("zones", "crosswalk")}

    def reload(self) -> list[str]:
        """Re-read every file; an invalid file raises CodeMapError and leaves the old maps in place."""
        files = self._files()
        fresh = {name: load_code_map(path, self._valid) for name, path in files.items()}
        with self._lock:
            self._maps = fresh
            self._mtimes = {name: path.stat().st_mtime for name, path in files.items()}
        return sorted(fresh)

    def refresh(self) -> bool:
        """Reload if any file was added, removed or modified since the last read; True if it reloaded."""
        files = self._files()
        current = {name: path.stat().st_mtime for name, path in files.items()}
        if current == self._mtimes:
            return False
        self.reload()
        return True

    def get(self, carrier: str) -> LoadedMap | None:
        """The map of one carrier, if there is a file for it."""
        with self._lock:
            return self._maps.get(carrier)

    def code_map(self, carrier: str) -> CarrierCodeMap | None:
        """The current code map of a carrier (the CodeMaps port)."""
        loaded = self.get(carrier)
        return loaded.code_map if loaded else None

    def carriers(self) -> list[str]:
        """Carriers with a map file."""
        with self._lock:
            return sorted(self._maps)


def load_shipment_actions(known_actions: Iterable[str], valid_statuses: Iterable[str]) -> dict[str, str]:
    """``data/shipment_actions.yaml``: shipment status → the order action that follows it, checked against the
    lifecycle."""
    text = resources.files("orderloom.data").joinpath("shipment_actions.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    actions, valid = set(known_actions), set(valid_statuses)
    if not isinstance(doc, Mapping):
        raise CodeMapError("shipment_actions.yaml: expected a mapping")
    bad = [f"{k} -> {v}" for k, v in doc.items() if k not in valid or v not in actions]
    if bad:
        raise CodeMapError(f"shipment_actions.yaml: unknown status or action: {', '.join(bad)}")
    return {str(k): str(v) for k, v in doc.items()}
