"""Structure scenarios (``existing.mode``): choose a whole office structure instead of adding to today's.

* ``greenfield``: nothing is fixed; the model chooses ``existing.offices`` sites (default: today's
  office locations + ``new_offices``) among today's locations and the candidates.
* ``relocate``: today's offices stay unless the model closes them, at most ``existing.max_closed``,
  while it opens ``new_offices`` more than it closes (the structure grows by ``new_offices``).

With nothing fixed a demand point's row has no natural end (with today's offices fixed it ends at the
nearest one). The matrix stage ends each row at ``2 × today's time + 10`` minutes (at least the
service radius for coverage models, :func:`row_bound`); the exact models below ask the drive-time
engine for longer rows only where they need them, so memory follows the answer:

* p-median: Benders cuts on the sparse rows (:mod:`siting.models.benders`) from a heuristic start
  (:mod:`siting.models.sparse_rows`);
* MCLP: :class:`siting.models.MCLP` with nothing fixed (rows reach the service radius: exact);
* p-center: bisection over the radius with the points a radius must bring within reach added as
  they are found (constraint generation; :func:`_pcenter`).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from siting.errors import SitingError
from siting.models import MODELS, SiteConstraints, Solution
from siting.models.base import relative_gap

log = logging.getLogger(__name__)

#: Minutes a structure row reaches beyond twice today's time (the start; rows grow where needed).
ROW_SLACK = 10.0

#: Points a p-center round adds to the active set at most (the farthest from the cover first).
ACTIVE_BATCH = 200

#: Swaps of the heuristic start (the LP's rounded plan is improved fully later; a cap, not a clock: deterministic).
START_SWAPS = 20

RowsFor = Callable[[np.ndarray, np.ndarray], sp.csr_array]


def is_structure(sc) -> bool:
    return sc.existing.mode != "fixed"


def structure_size(sc, n_existing: int) -> int:
    """Office locations in the structure the model chooses."""
    if sc.existing.mode == "greenfield" and sc.existing.offices is not None:
        return int(sc.existing.offices)
    return int(n_existing + sc.new_offices)


def row_bound(before: np.ndarray, floor: float, cutoff: float) -> np.ndarray:
    """Per demand point, the minutes its structure row starts with: ``max(2 × today's time + 10,
    floor)``; for points no office reaches, ``max(cutoff, floor)``."""
    b = np.asarray(before, float)
    return np.where(np.isfinite(b), np.maximum(2.0 * b + ROW_SLACK, floor), max(float(cutoff), floor))


def structure_constraints(sc, cons: SiteConstraints, existing: np.ndarray) -> SiteConstraints:
    """The scenario's constraints for the whole structure: ``relocate`` keeps at least
    ``len(today) − max_closed`` of today's locations open."""
    if sc.existing.mode != "relocate":
        return cons
    n_e = int(existing.sum())
    keep = max(n_e - int(sc.existing.max_closed), 0)
    groups = {**cons.groups, "existing office": np.where(existing, "yes", "no")}
    return replace(cons, groups=groups, min_per_group={**cons.min_per_group, "existing office": {"yes": keep}})


def _site_rows(model):
    """Every constraint on the site variables of ``model`` as :class:`siting.models.benders.SiteRows`."""
    from siting.models.arrays import site_block
    from siting.models.benders import SiteRows

    sb = site_block(model)
    A = sp.csr_array((sb.rows.data, sb.rows.indices, sb.rows.indptr), shape=sb.rows.shape).tocoo()
    full = sp.csr_array((A.data, (A.row, sb.ids[A.col])), shape=(sb.rows.shape[0], model.n_sites))
    return SiteRows(full, sb.lower, sb.upper)


def _start(rows, p: int, existing: np.ndarray, required: np.ndarray, group) -> list[int]:
    """A feasible start: today's locations (those allowed), required sites, then greedy additions; a
    smaller structure than today's starts from the required sites alone."""
    from siting.models.sparse_rows import greedy

    req = [int(j) for j in np.flatnonzero(required)]
    today = [int(j) for j in np.flatnonzero(existing & rows.allowed) if j not in req]
    if group is not None or len(req) + len(today) <= p:
        return greedy(rows, p, start=req + today)
    return greedy(rows, p, start=req)


def _pmedian(sc, model, tm, rows_for: RowsFor | None, existing: np.ndarray, log_path: str | None) -> tuple:
    """Exact structure p-median: heuristic start, then Benders (see module docstring). Returns plan,
    objective, bound, status, stats and each demand point's site and minutes."""
    from siting.models import benders
    from siting.models.sparse_rows import CappedRows, interchange

    t0 = time.perf_counter()
    w = model.weights
    cap = row_bound(tm.before, tm.floor, tm.cutoff)
    snap = getattr(rows_for, "snap", lambda: None)()
    merged = None if snap is None else _merge_by_node(tm.cost, w, cap, snap)
    if merged is None:
        rows = CappedRows(tm.cost, w, cap, model.allowed())
    else:
        rows = CappedRows(merged.cost, merged.weights, merged.cap, model.allowed())
    required = model._mask(model.constraints.required)
    grp = None
    if sc.existing.mode == "relocate":
        grp = (existing, max(int(existing.sum()) - int(sc.existing.max_closed), 0))
    stats = {"row_extensions_start": 0}

    def extend(rows, pts, minutes):
        if rows_for is None:
            raise SitingError("structure p-median: rows too short and no road network to extend them")
        minutes = np.asarray(minutes, float)
        if merged is None:
            return rows.extended(pts, rows_for(pts, minutes), minutes)
        rep, a = merged.rep[pts], merged.access[merged.rep[pts]]
        return rows.extended(pts, _shift(rows_for(rep, minutes + a), a), minutes)

    plan = _start(rows, model.p, existing, required, grp)
    cost = np.inf
    for _ in range(6):  # a short local search; points a plan leaves beyond their row get longer rows
        plan, cost = interchange(rows, plan, keep_open=required, group=grp, max_swaps=START_SWAPS)
        out = rows.uncapped(plan)
        if not len(out) or rows_for is None:
            break
        stats["row_extensions_start"] += len(out)
        cap_now = rows.cap_of()[out]
        rows = extend(rows, out, np.maximum(2.0 * cap_now + ROW_SLACK, cap_now + 30.0))
    log.info("structure p-median: start %.6g person-minutes (%d rows extended)", cost, stats["row_extensions_start"])
    while len(rows.uncapped(plan)):  # the start must be exact on its rows
        out = rows.uncapped(plan)
        cap_now = rows.cap_of()[out]
        rows = extend(rows, out, 2.0 * cap_now + ROW_SLACK)

    def improve(r, cand):
        return interchange(r, cand, keep_open=required, group=grp)[0]

    res = benders.solve_benders(rows, model.p, plan, sites=_site_rows(model), extend=extend if rows_for else None,
                                time_limit=max(1.0, sc.solver.time_limit - (time.perf_counter() - t0)),
                                log=lambda m: log.info("structure p-median: %s", m), log_path=log_path, improve=improve)  # fmt: skip
    stats.update(res.stats)
    stats.update(formulation="benders", pairs=int(res.rows.nnz), demand_rows_in_model=int(res.rows.n))
    if merged is None:
        return res.plan, res.objective, res.bound, res.status, stats, *_assign(res.rows, res.plan, tm.cost.shape[0])
    stats["demand_points_merged"] = int((w > 0).sum() - res.rows.n)
    # each point's own access minutes back on
    ga, gt = _assign(res.rows, res.plan, len(merged.rep))
    g = merged.group
    assign = np.where(g >= 0, ga[np.maximum(g, 0)], -1)
    t = np.where(g >= 0, gt[np.maximum(g, 0)] + merged.access, np.inf)
    return res.plan, res.objective + merged.constant, res.bound + merged.constant, res.status, stats, assign, t


class _Merged:
    """Demand points merged by road node (see :func:`_merge_by_node`)."""

    def __init__(self, rep, group, weights, cost, cap, access, constant):
        self.rep, self.group, self.weights, self.cost, self.cap = rep, group, weights, cost, cap
        self.access, self.constant = access, constant


def _merge_by_node(cost, w: np.ndarray, cap: np.ndarray, snap) -> _Merged:
    """Exact demand reduction: points snapped to the same road node have times ``a_i + τ_j`` (their
    own access minutes plus the node's time), so their cost is ``Σ w_i a_i + (Σ w_i) τ(plan)`` — one
    point per node with the summed weight, times without the access, and a constant. Each node's row
    is that of its member reaching farthest (``cap_i − a_i``); at 250 m this is 223 000 → 67 000 points."""
    n = len(w)
    idx = np.flatnonzero(w > 0)
    a = np.asarray(snap.access_minutes, float)
    key = np.asarray(snap.node)[idx]
    reach = cap[idx] - a[idx]
    order = np.lexsort((idx, -reach, key))  # per node, the farthest-reaching member first (ties: the lower index)
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    rep = idx[order][first]
    group = np.full(n, -1)
    group[idx[order]] = np.cumsum(first) - 1
    weights = np.bincount(group[idx], weights=w[idx], minlength=len(rep))
    rows = _shift(sp.csr_array(cost)[rep], a[rep])
    return _Merged(rep, group, weights, rows, cap[rep] - a[rep], a, float(np.dot(w[idx], a[idx])))


def _shift(m, a: np.ndarray) -> sp.csr_array:
    """Each row of ``m`` minus its point's access minutes (never below 0)."""
    m = sp.csr_array(m)
    return sp.csr_array((np.maximum(m.data - np.repeat(a, np.diff(m.indptr)), 0.0), m.indices, m.indptr), shape=m.shape)


def solve_structure(sc, problem, tm, rows_for: RowsFor | None = None, log_path: str | None = None) -> Solution:
    """Solve a structure scenario (``existing.mode`` greenfield or relocate) on the structure matrix.

    ``rows_for(points, minutes)`` returns the drive-time rows of ``points`` (demand indices) up to
    ``minutes`` each (sites as columns): the models use it where a row is too short.
    """
    t0 = time.perf_counter()
    existing = np.asarray(problem.fixed if problem.existing is None else problem.existing, bool)
    p = structure_size(sc, int(existing.sum()))
    cons = structure_constraints(sc, problem.constraints, existing)
    mtype = sc.model.type
    T = float(sc.model.threshold_minutes)
    w = problem.weights
    if mtype == "pmedian":
        model = MODELS["pmedian"](tm.cost, w, p, constraints=cons)
        plan, objective, bound, status, stats, assign, t = _pmedian(sc, model, tm, rows_for, existing, log_path)
        solver = "benders-highs"
    elif mtype == "mclp":
        model = MODELS["mclp"](tm.cost, w, p, constraints=cons, service_radius=T)
        s = model.solve(solver=sc.solver.name, time_limit=sc.solver.time_limit, gap=sc.solver.gap, log_path=log_path)
        plan, objective, bound, status, stats, solver = s.selected, s.objective, s.bound, s.status, dict(s.stats), s.solver
        assign, t = s.assignment, s.assignment_time
    elif mtype == "pcenter":
        plan, objective, bound, status, stats, assign, t = _pcenter(sc, problem, tm, cons, p, rows_for, log_path)
        solver = sc.solver.name
    else:  # the scenario schema allows only the models above
        raise SitingError(f"existing.mode {sc.existing.mode} works with model.type pmedian, mclp or pcenter, not {mtype}")
    plan = np.sort(np.asarray(plan, int))
    added = plan[~existing[plan]]
    served = np.bincount(np.maximum(assign, 0), weights=np.where(assign >= 0, w, 0.0), minlength=len(existing))
    ranked = added[np.lexsort((added, -served[added]))]  # by people served, ties by index
    stats.update(structure_mode=sc.existing.mode, structure_size=int(p), kept=int(existing[plan].sum()),
                 closed=int(existing.sum() - existing[plan].sum()), added=int(len(added)))  # fmt: skip
    return Solution(model=mtype, selected=ranked, open_sites=plan, assignment=assign, assignment_time=t, objective=float(objective),
                    status=status, gap=relative_gap(float(objective), float(bound)), bound=float(bound),
                    runtime=time.perf_counter() - t0, solver=solver, log_path=log_path, stats=stats)  # fmt: skip


def _assign(rows, plan, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site per demand point from the rows (``-1``/``inf`` where none in the row)."""
    mask = np.zeros(rows.m, bool)
    mask[np.asarray(plan, int)] = True
    a1, d1, _, _ = rows.nearest_two(mask)
    assign, t = np.full(n, -1), np.full(n, np.inf)
    assign[rows.points] = a1
    t[rows.points] = np.where(a1 >= 0, d1 / rows.w, np.inf)
    return assign, t


def _pcenter(sc, problem, tm, cons, p, rows_for, log_path):
    """Exact structure p-center: the smallest radius within which ``p`` sites reach every point.

    Bisection over the times of the *active* points' rows; a radius is feasible when a set cover of
    the active points within it (:func:`_cover`) needs at most ``p`` sites and that cover reaches
    every other point too; points it misses become active, the farthest from the cover first, at
    most ``ACTIVE_BATCH`` a round (constraint generation). A radius infeasible for the active points is infeasible for all, and between two times of the
    active rows nothing changes for them, so the smallest feasible time is the optimum. The other
    sites (up to ``p``) are then chosen by the structure p-median with the cover's sites required.
    """
    from siting.models.arrays import site_block
    from siting.models.sparse_rows import CappedRows, interchange

    w = problem.weights
    if log_path is None:  # one solver log for every cover
        fd, log_path = tempfile.mkstemp(prefix="siting-pcenter-", suffix=".log")
        os.close(fd)
    active_w = (w > 0).astype(float)
    cap = row_bound(tm.before, tm.floor, tm.cutoff)
    model = MODELS["pmedian"](tm.cost, w, p, constraints=cons)
    allowed = model.allowed()
    sb = site_block(model, exact_p=False)  # the site constraints of every cover
    rows = CappedRows(tm.cost, active_w, cap, allowed)  # weight 1: costs are minutes
    stats = {"bisection_steps": 0, "active_points": 0, "row_extensions": 0}

    def extend(rows, pts, minutes):
        if rows_for is None:
            raise SitingError("structure p-center: rows too short and no road network to extend them")
        stats["row_extensions"] += len(pts)
        return rows.extended(pts, rows_for(pts, minutes), minutes)

    # every point needs at least one site in its row (else it is unreachable: left out, counted)
    empty = rows.points[np.diff(rows.indptr) == 0]
    for _ in range(4):
        if not len(empty):
            break
        rows = extend(rows, empty, 4.0 * rows.cap_of()[empty] + 60.0)
        empty = rows.points[np.diff(rows.indptr) == 0]
    unreachable = empty
    keep = np.diff(rows.indptr) > 0
    lb = float(rows.minutes[rows.indptr[:-1][keep]].max()) if keep.any() else 0.0
    # an upper bound: the p-median heuristic's plan, every point's time found
    wrows = CappedRows(tm.cost, w, cap, allowed)
    required = model._mask(cons.required)
    grp = None
    existing = np.asarray(problem.existing, bool)
    if sc.existing.mode == "relocate":
        grp = (existing, max(int(existing.sum()) - int(sc.existing.max_closed), 0))
    plan, _ = interchange(wrows, _start(wrows, p, existing, required, grp), keep_open=required, group=grp)

    def times_of(rows, plan):
        """Minutes from the nearest site of ``plan`` per kept point, rows extended until exact."""
        for _ in range(8):
            out = rows.uncapped(plan)
            out = out[~np.isin(out, unreachable)]
            if not len(out):
                break
            rows = extend(rows, out, 2.0 * rows.cap_of()[out] + 30.0)
        mask = np.zeros(rows.m, bool)
        mask[plan] = True
        a1, d1, _, _ = rows.nearest_two(mask)
        return rows, np.where(a1 >= 0, d1, np.inf)

    rows, t = times_of(rows, plan)
    hi, best = float(t[np.isfinite(t)].max()), np.asarray(plan, int)
    lo = -np.inf
    # the points a radius must reach: at first those the heuristic serves worst and the farthest from any site
    firsts = np.where(keep, rows.minutes[np.minimum(rows.indptr[:-1], max(rows.nnz - 1, 0))], -np.inf)
    active = np.zeros(rows.n, bool)
    active[np.argsort(-np.where(np.isfinite(t), t, -np.inf))[:20]] = True
    active[np.argsort(-firsts)[:20]] = True
    active[~keep] = False
    while True:
        short = active & (rows.cap_minutes < hi)
        if short.any():
            rows = extend(rows, rows.points[short], np.full(int(short.sum()), hi + 1e-6))
        e = active[rows.row] & (rows.minutes > lo) & (rows.minutes < hi) & (rows.minutes >= lb)
        values = np.unique(rows.minutes[e])
        if not len(values):
            break
        # the lower limit first (the point farthest from any site often decides), then bisection
        r = float(values[0]) if lo < lb else float(values[len(values) // 2])
        stats["bisection_steps"] += 1
        cover = _cover(rows, active, r, sb, model.constraints.wish_bonus, sc, log_path)
        if cover is None or len(cover) > p:
            lo = r
            continue
        mask = np.zeros(rows.m, bool)
        mask[cover] = True
        # every other point: an open site within r? (rows end at the cap: extend where it is below r)
        within = np.zeros(rows.n, bool)
        ok = mask[rows.site] & (rows.minutes <= r)
        within[rows.row[ok]] = True
        unsure = ~within & keep & (rows.cap_minutes < r)
        if unsure.any():
            rows = extend(rows, rows.points[unsure], np.full(int(unsure.sum()), r + 1e-6))
            within[:] = False
            ok = mask[rows.site] & (rows.minutes <= r)
            within[rows.row[ok]] = True
        missed = np.flatnonzero(~within & keep & ~active)
        if len(missed):  # the farthest from the cover join the active points (a batch: the rows stay few)
            _, d1, _, _ = rows.nearest_two(mask)  # minutes to the cover's nearest site in the row (the cap if none)
            active[missed[np.lexsort((missed, -d1[missed]))[:ACTIVE_BATCH]]] = True
            continue
        hi, best = r, np.asarray(cover, int)
    stats["active_points"] = int(active.sum())
    stats["unreachable_points"] = int(len(unreachable))
    stats["radius"] = hi
    # the remaining sites by p-median with the cover's sites required
    if len(best) < p:
        req = model._mask(cons.required).copy()
        req[best] = True
        sc2 = sc.model_copy(update={"model": sc.model.model_copy(update={"type": "pmedian"})})
        fill = solve_structure(sc2, replace(problem, constraints=replace(cons, required=req)), tm, rows_for, log_path)
        plan = fill.open_sites
        stats["fill_status"] = fill.status
    else:
        plan = best
    rows, t = times_of(rows, plan)
    radius = float(t[np.isfinite(t)].max()) if np.isfinite(t).any() else 0.0
    if radius > hi + 1e-9:  # the fill never lengthens the cover's radius
        raise RuntimeError(f"structure p-center: internal check failed ({radius} > {hi}); please report this")
    return plan, radius, radius, "optimal", stats, *_assign(rows, plan, tm.cost.shape[0])  # rows of weight 1: minutes


def _cover(rows, active: np.ndarray, r: float, sb, bonus, sc, log_path: str) -> np.ndarray | None:
    """Fewest sites (within the site constraints ``sb``, ties to the larger wish ``bonus``) that bring
    every active point within ``r`` minutes, or ``None`` when none can. One row per distinct site set
    (points with the same sites within ``r`` are one row), handed to the solver as arrays (no
    per-term Python objects: memory follows the rows)."""
    from siting.models.arrays import solve_arrays
    from siting.models.coverage import aggregate_rows

    e = active[rows.row] & (rows.minutes <= r)
    act = np.flatnonzero(active)
    pos = np.full(rows.n, -1)
    pos[act] = np.arange(len(act))
    cov = sp.csr_array((np.ones(int(e.sum())), (pos[rows.row[e]], rows.site[e])), shape=(len(act), rows.m))
    if (np.diff(cov.indptr) == 0).any():
        return None  # an active point with no site within r
    col = np.full(rows.m, -1)
    col[sb.ids] = np.arange(len(sb.ids))
    u, _, _, _ = aggregate_rows(cov, np.ones(len(act)))
    u = u.tocoo()
    keep = col[u.col] >= 0
    A_cov = sp.csr_array((np.ones(int(keep.sum())), (u.row[keep], col[u.col[keep]])), shape=(u.shape[0], len(sb.ids)))
    if (np.diff(A_cov.indptr) == 0).any():
        return None  # only sites that may not open reach that point within r
    A = sp.vstack([A_cov, sb.rows], format="csr")
    lower = np.r_[np.ones(u.shape[0]), sb.lower]
    upper = np.r_[np.full(u.shape[0], np.inf), sb.upper]
    cost = np.ones(len(sb.ids)) - (0.0 if bonus is None else 1e-6 * np.asarray(bonus, float)[sb.ids])
    n = len(sb.ids)
    x, status, _, _ = solve_arrays(sc.solver.name, cost, np.zeros(n), np.ones(n), np.ones(n, bool), A, lower, upper, 0.0,
                                   sc.solver.time_limit, 0.0, log_path)  # fmt: skip
    if status == "infeasible":
        return None
    if status != "optimal":
        raise SitingError(f"structure p-center: a set cover was not proven within {sc.solver.time_limit:g} s; raise solver.time_limit")
    return np.sort(sb.ids[np.flatnonzero(x > 0.5)])


def structure_efficiency(sc, inputs, network, tm, problem, sol, rows_for: RowsFor | None = None) -> dict | None:
    """Today's structure against the optimal structures of the same size (greenfield with
    ``existing.offices`` = today's location count): people within T against the MCLP optimum,
    mean drive time against the p-median optimum, both solved here when the run's own model is
    not that one. ``None`` for other structure runs."""
    from siting.pipeline.matrix import scenario_matrix
    from siting.pipeline.metrics_stage import after_times

    existing = np.asarray(problem.existing, bool)
    if sc.existing.mode != "greenfield" or structure_size(sc, int(existing.sum())) != int(existing.sum()):
        return None
    T = float(sc.model.threshold_minutes)
    optima = {sol.model: sol} if sol.model in ("pmedian", "mclp") else {}
    for other in ("pmedian", "mclp"):
        if other not in optima:
            sc2 = sc.model_copy(update={"model": sc.model.model_copy(update={"type": other})})
            optima[other] = solve_structure(sc2, problem, scenario_matrix(sc2, network, inputs), rows_for)
    w = inputs.weights

    def score(t):
        ok = np.isfinite(t)
        return {"pop_within_T": float(w[t <= T].sum()), "share_within_T": float(w[t <= T].sum() / w.sum()),
                "mean_time": float(np.average(t[ok], weights=w[ok])), "unreachable_pop": float(w[~ok].sum())}  # fmt: skip

    today = score(tm.before)
    best = {k: score(after_times(network, inputs, s.open_sites)[0]) for k, s in optima.items()}
    kept = {k: int(existing[s.open_sites].sum()) for k, s in optima.items()}
    return {
        "locations": int(existing.sum()), "threshold_minutes": T,
        "coverage_efficiency": today["pop_within_T"] / best["mclp"]["pop_within_T"] if best["mclp"]["pop_within_T"] else float("nan"),
        "mean_time_efficiency": best["pmedian"]["mean_time"] / today["mean_time"] if today["mean_time"] else float("nan"),
        "definition": "today's structure against the optimal structure with as many locations: people within T today / at the "
                      "MCLP optimum, and mean drive time at the p-median optimum / today (1 = as good as the optimum)",
        "today": today, "optimum_coverage": best["mclp"], "optimum_time": best["pmedian"],
        "optimum_status": {k: optima[k].status for k in ("mclp", "pmedian")},
        "optimum_bound": {k: optima[k].bound for k in ("mclp", "pmedian")},
        "optimum_objective": {k: optima[k].objective for k in ("mclp", "pmedian")},
        "today_locations_kept": kept,
    }  # fmt: skip
