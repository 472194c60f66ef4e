"""Address quality: China addresses resolved to province / city / district with the national division codes
(``data/geo/cn_adcodes.csv``, from cpca), US ZIP codes checked against city and state (``data/geo/us_zips.json.bz2``,
from zipcodes); both add coordinates for routing. Ambiguous or unresolvable → ``address_ambiguous`` etc."""

from __future__ import annotations

import bz2
import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from orderloom.application.ports import UnitOfWork
from orderloom.domain.intake_checks import Finding

__all__ = ["AddressQuality", "BrCepIndex", "CnAddressIndex", "CnResolution", "UsZipIndex"]

_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")
_MUNICIPALITIES = ("11", "12", "31", "50")  # 北京 天津 上海 重庆: districts hang under the province
_PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


def _short(name: str) -> str:
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True, slots=True)
class _Area:
    code: str
    name: str
    lon: float | None
    lat: float | None


@dataclass
class CnResolution:
    """A resolved (or not) China address."""

    province: _Area | None = None
    city: _Area | None = None
    district: _Area | None = None
    problem: str | None = None
    candidates: list[str] = field(default_factory=list)


class CnAddressIndex:
    """Provinces, cities and districts by name, from the division-code table."""

    def __init__(self, rows: list[_Area]) -> None:
        self.provinces = {r.code[:2]: r for r in rows if r.code[2:] == "0" * 10}
        self.by_short = {_short(p.name): p for p in self.provinces.values()}
        self.cities = [r for r in rows if r.code[4:] == "0" * 8 and r.code[2:4] != "00"]
        self.districts = [r for r in rows if r.code[4:6] != "00" and r.code[6:] == "0" * 6]

    @classmethod
    @cache
    def load(cls) -> CnAddressIndex:
        """The packaged table (cached)."""
        text = resources.files("orderloom.data").joinpath("geo", "cn_adcodes.csv").read_text(encoding="utf-8")
        rows = [
            _Area(
                r["adcode"],
                r["name"],
                float(r["longitude"]) if r["longitude"] else None,
                float(r["latitude"]) if r["latitude"] else None,
            )
            for r in csv.DictReader(io.StringIO(text))
        ]
        return cls(rows)

    def _province(self, region: str, text: str) -> _Area | None:
        if region:
            return self.by_short.get(_short(region))
        return next((p for short, p in self.by_short.items() if text.startswith(short)), None)

    def resolve(self, *, region: str, city: str, text: str) -> CnResolution:
        """Province from ``region``, city from ``city``, district from the address text."""
        res = CnResolution()
        res.province = self._province(region.strip(), text)
        if res.province is None:
            res.problem = f"province {region or text[:12]!r} not found"
            return res
        pcode = res.province.code[:2]
        cities = [c for c in self.cities if c.code[:2] == pcode and c.name not in _PLACEHOLDERS]
        municipality = pcode in _MUNICIPALITIES
        if city and not municipality:
            res.city = next((c for c in cities if c.name == city or _short(c.name) == _short(city)), None)
            if res.city is None:
                res.problem = f"city {city!r} is not in {res.province.name}"
                return res
        scope = res.city.code[:4] if res.city else pcode
        hits = [d for d in self.districts if d.code.startswith(scope) and d.name in f"{city} {text}"]
        names = {d.code: d for d in hits}
        if len(names) == 1:
            res.district = hits[0]
            if res.city is None and not municipality:
                res.city = next((c for c in self.cities if c.code[:4] == res.district.code[:4]), None)
        elif len(names) > 1:
            res.candidates = sorted({f"{d.name} ({d.code})" for d in hits})
            res.problem = f"district is ambiguous: {', '.join(res.candidates[:5])}"
        else:
            res.problem = f"no district of {(res.city or res.province).name} found in the address"
        return res


class UsZipIndex:
    """ZIP code -> city, acceptable cities, state and coordinates."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.zips = {r["zip_code"]: r for r in rows}

    @classmethod
    @cache
    def load(cls) -> UsZipIndex:
        """The packaged table (cached; decompressed once)."""
        raw = resources.files("orderloom.data").joinpath("geo", "us_zips.json.bz2").read_bytes()
        return cls(json.loads(bz2.decompress(raw)))

    def check(self, addr: dict[str, Any], key: str) -> list[Finding]:
        """Findings for a US address; adds latitude/longitude when the ZIP is known."""
        zip5 = str(addr.get("postal_code") or "").strip()[:5]
        row = self.zips.get(zip5)
        if row is None:
            return [Finding("zip_unknown", f"/{key}/postal_code", f"US ZIP {zip5!r} does not exist")]
        findings: list[Finding] = []
        city = str(addr.get("city") or "").strip().upper()
        cities = {row["city"].upper(), *(c.upper() for c in row.get("acceptable_cities") or [])}
        if city and city not in cities:
            findings.append(
                Finding(
                    "zip_city_mismatch",
                    f"/{key}/city",
                    f"{addr.get('city')!r} is not a city of ZIP {zip5} ({row['city']}, {row['state']})",
                )
            )
        state = str(addr.get("region") or "").strip().upper()
        if state and len(state) == 2 and state != row["state"]:
            findings.append(
                Finding("zip_state_mismatch", f"/{key}/region", f"ZIP {zip5} is in {row['state']}, not {state}")
            )
        addr.setdefault("latitude", float(row["lat"]))
        addr.setdefault("longitude", float(row["long"]))
        return findings


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().strip().lower()


class BrCepIndex:
    """Brazil CEP 5-digit prefix -> mean coordinates, states and cities, from the Olist geolocation table (CC BY-NC-SA,
    read from where it lies, never packaged: ``ORDERLOOM_BR_CEP_GEOLOCATION``)."""

    def __init__(self, prefixes: dict[str, tuple[float, float, frozenset[str], frozenset[str]]]) -> None:
        self.prefixes = prefixes

    @classmethod
    def load(cls, path: Path) -> BrCepIndex:
        """Aggregate the geolocation rows per prefix."""
        sums: dict[str, list[Any]] = {}
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                acc = sums.setdefault(row["geolocation_zip_code_prefix"].zfill(5), [0.0, 0.0, 0, set(), set()])
                acc[0] += float(row["geolocation_lat"])
                acc[1] += float(row["geolocation_lng"])
                acc[2] += 1
                acc[3].add(row["geolocation_state"].upper())
                acc[4].add(_fold(row["geolocation_city"]))
        return cls({k: (a[0] / a[2], a[1] / a[2], frozenset(a[3]), frozenset(a[4])) for k, a in sums.items()})

    def check(self, addr: dict[str, Any], key: str) -> list[Finding]:
        """``cep_state_mismatch`` when the state does not fit the CEP prefix; coordinates when the prefix is known."""
        prefix = "".join(ch for ch in str(addr.get("postal_code") or "") if ch.isdigit())[:5]
        hit = self.prefixes.get(prefix)
        if hit is None:  # the table covers the prefixes seen in its sample, not every CEP: nothing to say
            return []
        lat, lng, states, _cities = hit
        addr.setdefault("latitude", lat)
        addr.setdefault("longitude", lng)
        state = str(addr.get("region") or "").strip().upper()
        if len(state) == 2 and state not in states:
            return [
                Finding(
                    "cep_state_mismatch",
                    f"/{key}/region",
                    f"CEP {prefix}xxx is in {'/'.join(sorted(states))}, not {state}",
                )
            ]
        return []


class AddressQuality:
    """The shipping address: China resolved to province/city/district, US ZIP consistency; coordinates added."""

    def __init__(
        self, cn: CnAddressIndex | None = None, us: UsZipIndex | None = None, br: BrCepIndex | None = None
    ) -> None:
        self._cn = cn
        self._us = us
        self._br = br

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """``address_ambiguous``, ``zip_unknown``, ``zip_city_mismatch``, ``zip_state_mismatch`` findings."""
        addr = doc.get("shipping_address")
        if not addr:
            return []
        country = addr.get("country")
        if country == "CN":
            return self._china(doc, addr)
        if country == "US" and addr.get("postal_code"):
            self._us = self._us or UsZipIndex.load()
            return self._us.check(addr, "shipping_address")
        if country == "BR" and self._br is not None and addr.get("postal_code"):
            return self._br.check(addr, "shipping_address")
        return []

    def _china(self, doc: dict[str, Any], addr: dict[str, Any]) -> list[Finding]:
        self._cn = self._cn or CnAddressIndex.load()
        text = " ".join(str(addr.get(k) or "") for k in ("line1", "line2"))
        res = self._cn.resolve(region=str(addr.get("region") or ""), city=str(addr.get("city") or ""), text=text)
        if res.problem:
            return [Finding("address_ambiguous", "/shipping_address", res.problem)]
        assert res.province is not None and res.district is not None
        point = res.district if res.district.lat is not None else (res.city or res.province)
        if point.lat is not None and point.lon is not None:
            addr.setdefault("latitude", point.lat)
            addr.setdefault("longitude", point.lon)
        doc.setdefault("custom_fields", {})["address_resolution"] = {
            "province": res.province.name,
            "city": res.city.name if res.city else res.province.name,
            "district": res.district.name,
            "adcode": res.district.code,
        }
        return []
