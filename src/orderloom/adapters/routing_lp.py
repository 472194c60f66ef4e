"""Transportation LPs with HiGHS (``highspy``): dual prices of stock for the router, and the hindsight bound.

One LP shape serves both: demands (a point's need for a SKU) are met from supplies (a SKU's stock at a location) along
arcs with a unit cost, or left unmet at a penalty per unit::

    min  Σ c_a x_a + P Σ u_i
    s.t. Σ_{a into i} x_a + u_i = d_i          (each demand)
         Σ_{a out of j} x_a     ≤ s_j          (each supply)
         x, u ≥ 0

The dual price of a supply row is what one more unit of that stock would save: the opportunity cost of using it
(Acimovic & Graves 2015). HiGHS reports it as a non-positive row dual for a ≤ row of a minimisation.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import highspy

from orderloom.application.routing_ports import LpSolution

__all__ = ["solve_transport"]


def _highs(time_limit: float | None) -> Any:
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    return h


def solve_transport(
    *,
    demands: Mapping[Hashable, float],
    supplies: Mapping[Hashable, float],
    arcs: Sequence[tuple[Hashable, Hashable, float]],  # (demand key, supply key, unit cost)
    penalty: float,
    time_limit: float | None = None,
) -> LpSolution:
    """Solve the transportation LP; the status is HiGHS's model status text (``Optimal`` when solved)."""
    dkeys, skeys = list(demands), list(supplies)
    di = {k: i for i, k in enumerate(dkeys)}
    si = {k: i for i, k in enumerate(skeys)}
    use = [(d, s, c) for d, s, c in arcs if d in di and s in si]
    h = _highs(time_limit)
    inf = highspy.kHighsInf
    n_x, n_u = len(use), len(dkeys)
    costs = [float(c) for _, _, c in use] + [float(penalty)] * n_u
    h.addVars(n_x + n_u, [0.0] * (n_x + n_u), [inf] * (n_x + n_u))
    h.changeColsCost(n_x + n_u, list(range(n_x + n_u)), costs)
    into: list[list[int]] = [[] for _ in dkeys]
    out: list[list[int]] = [[] for _ in skeys]
    for a, (d, s, _) in enumerate(use):
        into[di[d]].append(a)
        out[si[s]].append(a)
    lower: list[float] = []
    upper: list[float] = []
    starts: list[int] = []
    index: list[int] = []
    for i, k in enumerate(dkeys):
        starts.append(len(index))
        index += [*into[i], n_x + i]
        lower.append(float(demands[k]))
        upper.append(float(demands[k]))
    for j, k in enumerate(skeys):
        starts.append(len(index))
        index += out[j]
        lower.append(-inf)
        upper.append(float(supplies[k]))
    h.addRows(len(lower), lower, upper, len(index), starts, index, [1.0] * len(index))
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    col, dual = list(sol.col_value), list(sol.row_dual)
    flows = {(d, s): col[a] for a, (d, s, _) in enumerate(use) if col and col[a] > 1e-9}
    unmet = {k: col[n_x + i] for i, k in enumerate(dkeys) if col and col[n_x + i] > 1e-9}
    opportunity = {k: Decimal(str(round(max(0.0, -dual[len(dkeys) + j]), 4))) for j, k in enumerate(skeys) if dual}
    objective = float(h.getInfo().objective_function_value)
    return LpSolution(status, objective, flows, unmet, opportunity)
