"""The order page's blocks: each has a provider that returns its data, or None to leave the block out.

Other areas add blocks with ``register_section`` (shipments with their events, the routing explanation, rule
decisions, inventory per line): a provider gets the container, the tenant id and the order document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orderloom.bootstrap import Container

__all__ = ["SECTIONS", "Section", "register_section", "sections_for"]

Provider = Callable[[Container, str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Section:
    """A block of the order page: a template under ``templates/sections/`` fed by a provider."""

    name: str
    title: str
    template: str
    provide: Provider
    position: int = 100


SECTIONS: list[Section] = []


def register_section(section: Section) -> None:
    """Add (or replace, by name) a block of the order page."""
    SECTIONS[:] = sorted([s for s in SECTIONS if s.name != section.name] + [section], key=lambda s: s.position)


def sections_for(container: Container, tenant_id: str, doc: dict[str, Any]) -> list[tuple[Section, Any]]:
    """The blocks with data for this order, in position order."""
    out = []
    for section in SECTIONS:
        data = section.provide(container, tenant_id, doc)
        if data:
            out.append((section, data))
    return out


def _lines(_c: Container, _t: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {"lines": doc["lines"], "totals": doc["totals"], "currency": doc["currency"], "taxes": doc["taxes_included"]}


def _parties(_c: Container, _t: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    parts = {
        "customer": doc.get("customer") or {},
        "shipping_address": doc.get("shipping_address"),
        "billing_address": doc.get("billing_address"),
        "payment": doc.get("payment") or {},
    }
    return parts if any(parts.values()) else None


def _fulfilment(_c: Container, _t: str, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    return doc.get("fulfilment_groups") or None


for _section in (
    Section("lines", "Lines and totals", "sections/lines.html", _lines, 10),
    Section("parties", "Customer, addresses and payment", "sections/parties.html", _parties, 20),
    Section("fulfilment", "Fulfilment groups", "sections/fulfilment.html", _fulfilment, 30),
):
    register_section(_section)
