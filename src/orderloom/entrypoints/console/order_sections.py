"""Order page blocks from the other areas: shipments with their carrier events, the routing explanation and the
rule decisions recorded at intake. Registered with ``register_section``; each returns None when there is nothing."""

from __future__ import annotations

from typing import Any

from orderloom.adapters.persistence.shipments import SqlShipmentRepository
from orderloom.application.routing import RoutingNotFound, routing_of
from orderloom.application.shipments import shipment_document
from orderloom.bootstrap import Container
from orderloom.entrypoints.console.sections import Section, register_section

__all__ = ["routing_explanation", "rule_decisions", "shipments"]


def shipments(container: Container, tenant_id: str, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The order's shipments, each with its semantic status and its carrier events (newest first)."""
    with container.engines.read.connect() as conn:
        repo = SqlShipmentRepository(conn)
        found = repo.for_order(tenant_id, doc["id"])
        docs = [shipment_document(s, repo.scans(tenant_id, s.id), lifecycle=container.lifecycle) for s in found]
    return docs or None


def routing_explanation(container: Container, tenant_id: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    """The latest routing decision (candidates, exclusions, chosen plan, summary) and earlier summaries."""
    if container.routing_reads is None:
        return None
    try:
        return routing_of(routing=container.routing_reads, tenant_id=tenant_id, order_id=doc["id"])
    except RoutingNotFound:
        return None


def rule_decisions(container: Container, tenant_id: str, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Rule decisions stored with the order's audit entries (the rules that fired and why), oldest first."""
    out = []
    for entry in container.queries.timeline(tenant_id, doc["id"]):
        after = entry.get("after") if entry.get("kind") == "audit" else None
        if isinstance(after, dict) and after.get("rules"):
            out.append({"at": entry["at"], "action": entry["action"], "reason": after.get("reason", ""), **after})
    return out or None


for _section in (
    Section("shipments", "Shipments and carrier events", "sections/shipments.html", shipments, 40),
    Section("routing", "Routing explanation", "sections/routing.html", routing_explanation, 50),
    Section("rules", "Rule decisions", "sections/rules.html", rule_decisions, 60),
):
    register_section(_section)
