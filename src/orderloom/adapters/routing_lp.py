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

from orderloom.application.routing_ports import Assignment, LpSolution

__all__ = ["solve_assignment", "solve_min_shipments", "solve_transport"]


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


def _uses(
    item: str,
    opt: str,
    usage: Mapping[str, Mapping[str, float]],
    option_usage: Mapping[tuple[str, str], Mapping[tuple[str, str], float]],
) -> Mapping[tuple[str, str], float]:
    """Units per (resource, location) the item takes under an option: all of it at the option, unless the option
    has its own usage (a split plan spread over several locations)."""
    own = option_usage.get((item, opt))
    return own if own is not None else {(res, opt): units for res, units in usage[item].items()}


def _assignment_model(
    options: Mapping[str, Mapping[str, float]],
    usage: Mapping[str, Mapping[str, float]],
    capacity: Mapping[tuple[str, str], float],
    time_limit: float,
    integer: bool,
    option_usage: Mapping[tuple[str, str], Mapping[tuple[str, str], float]],
) -> tuple[Any, list[tuple[str, str]]]:
    """y[item, option] ∈ {0,1} (or [0,1]); one option per item; units per (resource, option) within capacity."""
    cols = [(item, opt) for item in sorted(options) for opt in sorted(options[item])]
    h = _highs(time_limit)
    n = len(cols)
    h.addVars(n, [0.0] * n, [1.0] * n)
    h.changeColsCost(n, list(range(n)), [float(options[i][o]) for i, o in cols])
    if integer:
        h.changeColsIntegrality(n, list(range(n)), [highspy.HighsVarType.kInteger] * n)
    rows: list[tuple[float, float, list[int], list[float]]] = []
    by_item: dict[str, list[int]] = {}
    by_res: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for c, (item, opt) in enumerate(cols):
        by_item.setdefault(item, []).append(c)
        for key, units in _uses(item, opt, usage, option_usage).items():
            idx, val = by_res.setdefault(key, ([], []))
            idx.append(c)
            val.append(float(units))
    rows += [(1.0, 1.0, idx, [1.0] * len(idx)) for idx in by_item.values()]
    inf = highspy.kHighsInf
    rows += [(-inf, float(capacity.get(key, 0.0)), idx, val) for key, (idx, val) in sorted(by_res.items())]
    starts: list[int] = []
    index: list[int] = []
    values: list[float] = []
    for _, _, idx, val in rows:
        starts.append(len(index))
        index += idx
        values += val
    h.addRows(len(rows), [r[0] for r in rows], [r[1] for r in rows], len(index), starts, index, values)
    return h, cols


def solve_assignment(
    *,
    options: Mapping[str, Mapping[str, float]],
    usage: Mapping[str, Mapping[str, float]],
    capacity: Mapping[tuple[str, str], float],
    fallback: Mapping[str, str],
    time_limit: float,
    option_usage: Mapping[tuple[str, str], Mapping[tuple[str, str], float]] | None = None,
) -> Assignment:
    """The MIP with HiGHS within ``time_limit`` s; without an integer solution by then, the LP relaxation rounded
    (each item to its largest fraction where capacity allows, else its ``fallback``). ``option_usage`` gives the
    units per (resource, location) of options that are not one location (an order's current split plan)."""
    own = option_usage or {}
    h, cols = _assignment_model(options, usage, capacity, time_limit, integer=True, option_usage=own)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    if sol.value_valid and status in ("Optimal", "Time limit reached"):
        choice = {i: o for (i, o), v in zip(cols, sol.col_value, strict=True) if v > 0.5}
        if len(choice) == len(options):
            method = "mip" if status == "Optimal" else "mip_time_limit"
            return Assignment(method, status, float(h.getInfo().objective_function_value), choice)
    lp, cols = _assignment_model(options, usage, capacity, time_limit, integer=False, option_usage=own)
    lp.run()
    values = list(lp.getSolution().col_value)
    return _round(cols, values, options, usage, capacity, fallback, status, own)


def _round(
    cols: list[tuple[str, str]],
    values: list[float],
    options: Mapping[str, Mapping[str, float]],
    usage: Mapping[str, Mapping[str, float]],
    capacity: Mapping[tuple[str, str], float],
    fallback: Mapping[str, str],
    mip_status: str,
    option_usage: Mapping[tuple[str, str], Mapping[tuple[str, str], float]] | None = None,
) -> Assignment:
    """Largest fractions first where they fit; the rest home, else the cheapest option that fits; if anything is
    left over, every item keeps its ``fallback`` (which was feasible)."""
    left = dict(capacity)
    choice: dict[str, str] = {}

    def place(item: str, opt: str) -> bool:
        uses = _uses(item, opt, usage, option_usage or {})
        if all(left.get(key, 0.0) >= u - 1e-9 for key, u in uses.items()):
            for key, u in uses.items():
                left[key] = left.get(key, 0.0) - u
            choice[item] = opt
            return True
        return False

    for (item, opt), _ in sorted(zip(cols, values, strict=True), key=lambda cv: (-cv[1], cv[0])):
        if item not in choice:
            place(item, opt)
    for item in sorted(set(options) - set(choice)):
        order = [fallback[item], *sorted(options[item], key=lambda o: (options[item][o], o))]
        if not any(place(item, opt) for opt in order):
            choice = dict(fallback)
            break
    total = sum(float(options[i][o]) for i, o in choice.items())
    return Assignment("lp_rounding", mip_status, total, choice)


def solve_min_shipments(
    *,
    orders: Mapping[str, Sequence[tuple[str, float]]],  # order → its lines (SKU, units)
    whole: Sequence[str],  # orders that may not be split
    stock: Mapping[tuple[str, str], float],  # (SKU, location) → units
    time_limit: float,
) -> tuple[str, float]:
    """The fewest shipments that serve every order within the stock (each line whole at one location; a shipment is
    an order's lines from one location): a MIP with HiGHS. Returns (status, shipments; the best bound found)."""
    h = _highs(time_limit)
    inf = highspy.kHighsInf
    locs = sorted({loc for _, loc in stock})
    x: dict[tuple[str, str], int] = {}  # (order, location) → column: ships something from there
    y: dict[tuple[str, int, str], int] = {}  # (order, line, location) → column
    for o in sorted(orders):
        for n, (sku, units) in enumerate(orders[o]):
            for loc in locs:
                if stock.get((sku, loc), 0.0) >= units:
                    x.setdefault((o, loc), len(x) + len(y))
                    y[(o, n, loc)] = len(x) + len(y)
    n_cols = len(x) + len(y)
    h.addVars(n_cols, [0.0] * n_cols, [1.0] * n_cols)
    h.changeColsCost(len(x), list(x.values()), [1.0] * len(x))
    h.changeColsIntegrality(n_cols, list(range(n_cols)), [highspy.HighsVarType.kInteger] * n_cols)
    rows: list[tuple[float, float, list[int], list[float]]] = []
    lines: dict[tuple[str, int], list[int]] = {}
    use: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for (o, n, loc), col in y.items():
        lines.setdefault((o, n), []).append(col)
        rows.append((-inf, 0.0, [col, x[(o, loc)]], [1.0, -1.0]))  # y ≤ x
        idx, val = use.setdefault((orders[o][n][0], loc), ([], []))
        idx.append(col)
        val.append(float(orders[o][n][1]))
    rows += [(1.0, 1.0, cols, [1.0] * len(cols)) for cols in lines.values()]
    rows += [(-inf, float(stock[key]), idx, val) for key, (idx, val) in use.items()]
    for o in whole:
        cols = [c for (oo, _), c in x.items() if oo == o]
        rows.append((-inf, 1.0, cols, [1.0] * len(cols)))
    starts: list[int] = []
    index: list[int] = []
    values: list[float] = []
    for _, _, idx, val in rows:
        starts.append(len(index))
        index += idx
        values += val
    h.addRows(len(rows), [r[0] for r in rows], [r[1] for r in rows], len(index), starts, index, values)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    best = info.objective_function_value if status == "Optimal" else info.mip_dual_bound
    return status, float(best)
