"""Routing ports: where routing decisions (with their explanation) are stored, and the rules routing reads."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from orderloom.domain.rules import Decision

__all__ = [
    "Assignment",
    "AssignmentSolver",
    "DualPriceStore",
    "LpSolution",
    "RoutingHistory",
    "RoutingRecord",
    "RoutingRecords",
    "RoutingRules",
    "TransportSolver",
]


@dataclass(frozen=True, slots=True)
class RoutingRecord:
    """One stored routing decision of an order: the explanation document and when it was made."""

    tenant_id: str
    order_id: str
    decided_at: datetime
    decision: dict[str, Any]


class RoutingHistory(Protocol):
    """Stored routing decisions, read."""

    def of_order(self, tenant_id: str, order_id: str) -> list[RoutingRecord]:
        """An order's decisions, oldest first."""


class RoutingRecords(RoutingHistory, Protocol):
    """Routing decisions of one transaction (``uow.routing``)."""

    def add(self, record: RoutingRecord) -> None:
        """Append a decision."""

    def orders_allocated_at(self, tenant_id: str, location_id: str | None) -> list[str]:
        """Ids of orders holding active stock reservations at a location (None: anywhere), sorted."""


class RoutingRules(Protocol):
    """The rules engine as routing uses it (``RuleSets`` satisfies it)."""

    def activation(self, *, tenant_id: str, kind: str) -> Any:
        """What is active for a kind (None when nothing is), cached by the engine."""

    def context_for(self, *, tenant_id: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """The rule context of an order document."""

    def evaluate(
        self, *, tenant_id: str, kind: str, context: Mapping[str, Any], order_id: str = "", channel: str = ""
    ) -> Decision | None:
        """The active version's decision (None when no version of the kind is active)."""


@dataclass(frozen=True, slots=True)
class LpSolution:
    """Objective, flow per arc, unmet units per demand and the opportunity cost per supply (≥ 0)."""

    status: str
    objective: float
    flows: dict[tuple[Hashable, Hashable], float]
    unmet: dict[Hashable, float]
    opportunity: dict[Hashable, Decimal]


class TransportSolver(Protocol):
    """Solves the transportation LP (demands met from supplies along priced arcs, unmet at a penalty)."""

    def __call__(
        self,
        *,
        demands: Mapping[Hashable, float],
        supplies: Mapping[Hashable, float],
        arcs: Sequence[tuple[Hashable, Hashable, float]],
        penalty: float,
        time_limit: float | None = None,
    ) -> LpSolution:
        """The optimal flows, unmet demand and supply dual prices."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """Which option each item took, how it was found (``mip``, ``mip_time_limit``, ``lp_rounding``) and the cost."""

    method: str
    status: str
    objective: float
    choice: dict[str, str]


class AssignmentSolver(Protocol):
    """Assigns each item (an order) to one option (a location) within capacities: a MIP with a time limit."""

    def __call__(
        self,
        *,
        options: Mapping[str, Mapping[str, float]],  # item → option → cost
        usage: Mapping[str, Mapping[str, float]],  # item → resource (a SKU) → units
        capacity: Mapping[tuple[str, str], float],  # (resource, option) → units
        fallback: Mapping[str, str],  # item → option kept when rounding can't place it
        time_limit: float,
        option_usage: Mapping[tuple[str, str], Mapping[tuple[str, str], float]] | None = None,
    ) -> Assignment:
        """The cheapest assignment found."""


class DualPriceStore(Protocol):
    """Dual prices of stock (opportunity cost per unit, by SKU and location) per tenant, shared by processes."""

    def replace(self, tenant_id: str, prices: Mapping[tuple[str, str], Decimal], at: datetime) -> None:
        """Store a tenant's prices, dropping the previous set."""

    def load(self, tenant_id: str) -> dict[tuple[str, str], Decimal]:
        """A tenant's current prices (empty before the first LP run)."""
