"""Exact p-median on sparse rows by Benders cuts (structures with nothing fixed: greenfield, relocation).

The master problem keeps one variable per site (``y_j``, open) and one per demand point (``θ_i``,
its minutes) and minimises ``Σ_i w_i θ_i`` under the site constraints (``Σ y = p`` and any others).
For every point ``i`` and every ``D ≥ 0``

    θ_i ≥ D − Σ_{j: t_ij < D} (D − t_ij) y_j

holds for every plan (if a site cheaper than ``D`` is open the sum is at least ``D − t_i(plan)``,
otherwise it is 0 and ``t_i ≥ D``): the Benders cuts of the radius formulation (Duran-Mateluna,
Alès & Elloumi, EJOR 2023; Cornuéjols, Nemhauser & Wolsey 1980). A cut needs only the sites
cheaper than its ``D`` — the start of the point's row — so the rows can end near each point's
service time and memory follows the answer.

1. **LP phase.** Kelley's cutting planes: solve the master LP, and for each point the most violated
   cut is at the ``D`` where the cumulative ``y`` of its row (sorted by time) reaches 1
   (:func:`separate`); add those, re-solve (HiGHS dual simplex, warm), until none is violated. Each
   master LP is a relaxation, so its value is a proven lower bound; at the end it equals the
   LP bound of the radius (and assignment) formulation. A point whose row holds less than a whole
   open site in the LP solution needs a longer row: ``extend`` is called for those points (the
   drive-time engine computes their rows up to a larger cap) — once no row needs it, the LP bound
   is that of the uncut problem.
2. **Fixing.** With the LP bound ``LB``, an incumbent ``UB`` and the LP reduced cost ``r_j`` of a site
   at 0 (at 1), a site with ``LB + r_j > UB`` (``LB − r_j > UB``) is closed (opened) in every better plan.
3. **MIP phase.** The master MIP over the free sites with the cut pool and ``UB`` as cut-off; its
   solution's exact times give new cuts (tight there) until the master's value equals the plan's
   cost: then the plan is optimal (the master is a relaxation). A plan that leaves a point with no
   open site in its row gets that row extended first.

Heuristic starts come from :mod:`.sparse_rows` (greedy, vertex substitution).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .arrays import set_matrix
from .sparse_rows import CappedRows

__all__ = ["BendersResult", "separate", "solve_benders", "violated"]

#: Relative violation below which a cut is not added (of the point's D, at least 1e-9 minutes).
TOL = 1e-7


def violated(D: np.ndarray, value: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Points whose deepest cut (level ``D``, right-hand side ``value`` from :func:`separate`) the
    master's ``theta`` violates by more than :data:`TOL` of ``D`` (and 1e-9)."""
    return value > theta + TOL * np.maximum(D, 1.0) + 1e-9


@dataclass
class SiteRows:
    """Linear constraints on the site variables ``lower ≤ A y ≤ upper`` (``Σ y = p`` included)."""

    A: sp.csr_array
    lower: np.ndarray
    upper: np.ndarray


@dataclass
class BendersResult:
    """Outcome of :func:`solve_benders`.

    Attributes
    ----------
    plan : ndarray of int
        Open sites.
    objective : float
        Σ weight × minutes of ``plan`` (exact: every point is served within its row).
    bound : float
        Proven lower bound.
    status : str
        ``optimal`` or ``time_limit``.
    rows : CappedRows
        The rows at the end (extended where needed).
    stats : dict
        LP rounds, cuts, fixed sites, MIP rounds, extensions, seconds.
    """

    plan: np.ndarray
    objective: float
    bound: float
    status: str
    rows: CappedRows
    stats: dict = field(default_factory=dict)


def _level_start(rows: CappedRows) -> np.ndarray:
    """Per entry, the first entry of its row with the same minutes (ties share a level)."""
    if rows.nnz == 0:
        return np.zeros(0, int)
    start = np.r_[True, (rows.minutes[1:] != rows.minutes[:-1]) | (rows.row[1:] != rows.row[:-1])]
    idx = np.where(start, np.arange(rows.nnz), 0)
    np.maximum.accumulate(idx, out=idx)
    return idx


def separate(rows: CappedRows, y: np.ndarray, theta: np.ndarray, level_start: np.ndarray | None = None):
    """The deepest cut per point at the site values ``y`` (length ``m``): ``(D, value)`` per kept point,
    where ``value = D − Σ_{t < D} (D − t) y`` is the largest right-hand side over all ``D`` within the
    row, and ``short`` (points whose row holds less than one open site in ``y``: their cut stops at
    the cap, a longer row may give more).

    Returns ``(D, value, short)`` arrays over the kept points (``rows.points``); a cut is violated where
    ``value > theta``.
    """
    ls = _level_start(rows) if level_start is None else level_start
    ye = y[rows.site]
    cum = np.cumsum(ye)
    cum_t = np.cumsum(ye * rows.minutes)
    row0 = np.r_[0.0, cum][rows.indptr[:-1]]
    row0_t = np.r_[0.0, cum_t][rows.indptr[:-1]]
    incl = cum - row0[rows.row]  # Σ y of the row's entries up to and including this one
    # strictly cheaper than the entry's level: up to the entry before its level's start
    prev = np.r_[0.0, cum][ls] - row0[rows.row]
    prev_t = np.r_[0.0, cum_t][ls] - row0_t[rows.row]
    n = rows.n
    D = rows.cap_minutes.copy()
    Y = np.bincount(rows.row, weights=ye, minlength=n)
    TY = np.bincount(rows.row, weights=ye * rows.minutes, minlength=n)
    hit = np.flatnonzero(incl >= 1.0 - 1e-9)
    short = np.ones(n, bool)
    if len(hit):
        first = hit[np.r_[True, rows.row[hit][1:] != rows.row[hit][:-1]]]
        r = rows.row[first]
        D[r] = rows.minutes[first]
        Y[r] = prev[first]
        TY[r] = prev_t[first]
        short[r] = False
    value = D * (1.0 - Y) + TY
    return D, value, short


def _cut_rows(rows: CappedRows, pts: np.ndarray, D: np.ndarray, col_of_site: np.ndarray, n_y: int):
    """CSR of the cuts ``θ_i + Σ_{t_ij < D_i} (D_i − t_ij) y_j ≥ D_i`` for kept points ``pts``."""
    lo, hi = rows.indptr[pts], rows.indptr[pts + 1]
    cnt = hi - lo
    e = np.repeat(lo - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(int(cnt.sum()))
    k = np.repeat(np.arange(len(pts)), cnt)
    ok = rows.minutes[e] < D[k]
    e, k = e[ok], k[ok]
    cols = col_of_site[rows.site[e]]
    ok = cols >= 0  # sites fixed closed have no column
    e, k, cols = e[ok], k[ok], cols[ok]
    r = np.r_[k, np.arange(len(pts))]
    c = np.r_[cols, n_y + pts]
    v = np.r_[D[k] - rows.minutes[e], np.ones(len(pts))]
    return sp.csr_array((v, (r, c)), shape=(len(pts), n_y + rows.n)), D.copy()


class _Master:
    """The master problem in HiGHS: ``y`` (the free sites), ``θ`` (one per kept point), site rows, cuts."""

    def __init__(self, rows: CappedRows, sites: SiteRows, free: np.ndarray, fixed_open: np.ndarray, log_path: str):
        import highspy

        from .base import _stdout_to_log

        self.rows = rows
        self.free = np.flatnonzero(free)
        self.col = np.full(rows.m, -1)
        self.col[self.free] = np.arange(len(self.free))
        self.n_y = len(self.free)
        self.fixed_open = np.flatnonzero(fixed_open)
        with _stdout_to_log(log_path):
            h = self.h = highspy.Highs()
        for key, val in {"output_flag": True, "log_to_console": False, "log_file": log_path, "threads": 1, "random_seed": 0,
                         "mip_rel_gap": 0.0, "mip_abs_gap": 0.0}.items():  # fmt: skip
            h.setOptionValue(key, val)
        n = self.n_y + rows.n
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.col_cost_ = np.r_[np.zeros(self.n_y), rows.w]
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.r_[np.ones(self.n_y), np.full(rows.n, np.inf)]
        # site rows over the free sites; fixed-open sites move to the bounds
        A = sp.csc_array(sites.A)
        shift = np.asarray(A[:, self.fixed_open].sum(axis=1)).ravel() if len(self.fixed_open) else 0.0
        Af = sp.csr_array(A[:, self.free])
        Af.resize((Af.shape[0], n))
        lp.num_row_ = Af.shape[0]
        lp.row_lower_ = sites.lower - shift
        lp.row_upper_ = sites.upper - shift
        set_matrix(lp, Af)
        h.passModel(lp)
        self.n_site_rows = Af.shape[0]
        self.cut_point: list[np.ndarray] = []
        self.n_cuts = 0

    def add_cuts(self, pts: np.ndarray, D: np.ndarray) -> int:
        if not len(pts):
            return 0
        A, rhs = _cut_rows(self.rows, pts, D, self.col, self.n_y)
        A.sort_indices()
        self.h.addRows(len(pts), rhs, np.full(len(pts), np.inf), A.nnz, A.indptr[:-1].astype(np.int32), A.indices.astype(np.int32),
                       A.data.astype(float))  # fmt: skip
        self.cut_point.append(pts)
        self.n_cuts += len(pts)
        return len(pts)

    def y_full(self, x: np.ndarray) -> np.ndarray:
        y = np.zeros(self.rows.m)
        y[self.free] = x[: self.n_y]
        y[self.fixed_open] = 1.0
        return y

    def run(self, deadline: float):
        from .base import run_highs

        self.h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()) if math.isfinite(deadline) else math.inf)
        run_highs(self.h)
        return self.h.getModelStatus()


def _optimal():
    import highspy

    return highspy.HighsModelStatus.kOptimal


def _site_rows_p(m: int, p: int) -> SiteRows:
    return SiteRows(sp.csr_array(np.ones((1, m))), np.array([float(p)]), np.array([float(p)]))


def solve_benders(rows: CappedRows, p: int, plan, sites: SiteRows | None = None,
                  extend: Callable[[CappedRows, np.ndarray, np.ndarray], CappedRows] | None = None,
                  time_limit: float = 600.0, log: Callable[[str], None] | None = None, log_path: str | None = None,
                  max_rounds: int = 500, improve: Callable[[CappedRows, np.ndarray], np.ndarray | None] | None = None,
                  ) -> BendersResult:  # fmt: skip
    """Prove the p-median optimum on sparse rows (see module docstring).

    Parameters
    ----------
    rows : CappedRows
        Per point the sites within its cap (minutes), sorted.
    p : int
        Sites to open (``Σ y = p``; part of ``sites`` when that is given).
    plan : array of int
        A feasible plan (the incumbent; its cost must be exact on ``rows``: every point served
        within its row — extend the rows of the others first).
    sites : SiteRows, optional
        All linear constraints on ``y`` (default: ``Σ y = p``); sites not ``rows.allowed`` stay closed.
    extend : callable, optional
        ``extend(rows, points, minutes) -> rows`` with the rows of ``points`` (original indices)
        reaching at least ``minutes``; without it, points whose rows are too short make the result
        a lower bound only (status ``time_limit``).
    time_limit : float
        Seconds.
    improve : callable, optional
        ``improve(rows, plan) -> plan or None``: a feasible plan near ``plan`` (local search), tried
        from the rounded LP solution for a better incumbent.
    """
    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    log_path = log_path or os.devnull
    sites = sites or _site_rows_p(rows.m, p)
    plan = np.asarray(plan, int)
    ub = rows.plan_cost(plan)
    stats: dict = {"lp_rounds": 0, "mip_rounds": 0, "extended_points": 0, "extensions": 0}

    def grow(rows, pts, D):
        """Rows of ``pts`` (kept-point indices) to at least twice their cap (and ``D``)."""
        orig = rows.points[pts]
        want = np.maximum(2.0 * rows.cap_minutes[pts] + 10.0, D)
        stats["extended_points"] += len(pts)
        stats["extensions"] += 1
        say(f"extending {len(pts)} rows (caps {rows.cap_minutes[pts].min():.0f}–{rows.cap_minutes[pts].max():.0f} min)")
        return extend(rows, orig, want)

    # ---------------------------------------------------------------- LP phase (all sites free)
    free = rows.allowed.copy()
    master = _Master(rows, sites, free, np.zeros(rows.m, bool), log_path)
    inc = np.zeros(rows.m)
    inc[plan] = 1.0
    D, _, _ = separate(rows, inc, np.zeros(rows.n))
    master.add_cuts(np.arange(rows.n), D)  # tight at the incumbent
    lb = -math.inf
    status = "optimal"
    ls = _level_start(rows)
    while True:
        if time.perf_counter() > deadline or stats["lp_rounds"] >= max_rounds:
            status = "time_limit"
            break
        ms = master.run(deadline)
        stats["lp_rounds"] += 1
        if ms != _optimal():
            say(f"LP round {stats['lp_rounds']}: HiGHS stopped with {ms}")
            status = "time_limit"
            break
        info = master.h.getInfo()
        sol = master.h.getSolution()
        x = np.asarray(sol.col_value)
        lb = float(info.objective_function_value)
        y = master.y_full(x)
        theta = x[master.n_y :]
        Dc, value, short = separate(rows, y, theta, ls)
        viol = violated(Dc, value, theta)
        need = short
        if need.any() and extend is not None:
            rows = grow(rows, np.flatnonzero(need), Dc[need])
            ls = _level_start(rows)
            master.rows = rows
            Dc, value, short = separate(rows, y, theta, ls)
            viol = violated(Dc, value, theta)
        n_new = master.add_cuts(np.flatnonzero(viol), Dc[viol])
        if stats["lp_rounds"] % 5 == 1 or not n_new:
            say(f"LP round {stats['lp_rounds']}: bound {lb:.8g}, {n_new} cuts added ({master.n_cuts} in all), "
                f"incumbent {ub:.8g}, {time.perf_counter() - t0:.1f} s")  # fmt: skip
        if not n_new:
            break
    stats["lp_bound"] = lb
    stats["cuts"] = master.n_cuts
    if status != "optimal":
        return BendersResult(plan, ub, min(lb, ub), status, rows, {**stats, "seconds": round(time.perf_counter() - t0, 3)})
    # ---------------------------------------------------------------- the LP's own plan
    x = np.asarray(master.h.getSolution().col_value)
    y = master.y_full(x)
    if np.all(np.minimum(y, 1.0 - y) <= 1e-6):  # an integral LP optimum is the optimum
        cand = np.flatnonzero(y > 0.5)
        if not len(rows.uncapped(cand)):
            cost = rows.plan_cost(cand)
            if cost <= lb + 1e-9 * max(1.0, abs(lb)) + TOL * abs(lb):
                say(f"LP optimum is integral: {cost:.8g}")
                stats["lp_integral"] = True
                return BendersResult(np.sort(cand), cost, min(lb, cost), "optimal", rows,
                                     {**stats, "seconds": round(time.perf_counter() - t0, 3)})  # fmt: skip
    if improve is not None:  # round the LP (the p largest y) and improve it
        cand = improve(rows, np.argsort(-y, kind="stable")[:p])
        if cand is not None and not len(rows.uncapped(cand)):
            cost = rows.plan_cost(cand)
            if cost < ub:
                plan, ub = np.asarray(cand, int), cost
                say(f"incumbent {ub:.8g} from the LP")
    # ---------------------------------------------------------------- fixing by reduced costs
    rc = np.asarray(master.h.getSolution().col_dual)[: master.n_y]
    xs = np.asarray(master.h.getSolution().col_value)[: master.n_y]
    level = ub - 1e-9 * max(1.0, abs(ub))
    closed = np.zeros(rows.m, bool)
    opened = np.zeros(rows.m, bool)
    fs = master.free
    closed[fs] = (xs < 1e-9) & (lb + rc > level)
    opened[fs] = (xs > 1 - 1e-9) & (lb - rc > level)
    closed[~rows.allowed] = True
    stats.update(fixed_closed=int(closed[rows.allowed].sum()), fixed_open=int(opened.sum()))
    say(f"LP bound {lb:.8g} (gap {(ub - lb) / max(abs(ub), 1e-12):.2e}); reduced costs fix {stats['fixed_closed']} sites "
        f"closed, {stats['fixed_open']} open; {int((~closed & ~opened).sum())} free")  # fmt: skip
    if lb > level:  # the incumbent is optimal
        return BendersResult(np.sort(plan), ub, ub, "optimal", rows, {**stats, "seconds": round(time.perf_counter() - t0, 3)})
    # ---------------------------------------------------------------- MIP phase
    free = ~closed & ~opened
    pts_all = np.concatenate(master.cut_point) if master.cut_point else np.array([], int)
    mip = _Master(rows, sites, free, opened, log_path)
    # the cut pool, re-expressed over the free sites (fixed-open sites move to the right-hand side)
    pool_D = _pool_D(master)
    _add_pool(mip, pts_all, pool_D, opened)
    import highspy

    mip.h.changeColsIntegrality(mip.n_y, np.arange(mip.n_y, dtype=np.int32), np.full(mip.n_y, highspy.HighsVarType.kInteger))
    best_plan, best = plan, ub
    bound = lb
    while True:
        if time.perf_counter() > deadline:
            status = "time_limit"
            break
        mip.h.setOptionValue("objective_bound", float(best))
        ms = mip.run(deadline)
        stats["mip_rounds"] += 1
        info = mip.h.getInfo()
        sol = mip.h.getSolution()
        if not sol.value_valid:  # nothing below the incumbent: it is optimal
            if ms in (highspy.HighsModelStatus.kObjectiveBound, highspy.HighsModelStatus.kInfeasible,
                      highspy.HighsModelStatus.kOptimal):  # fmt: skip
                bound = best
                break
            status = "time_limit"
            bound = max(bound, float(getattr(info, "mip_dual_bound", -math.inf)))
            break
        x = np.asarray(sol.col_value)
        y = np.round(mip.y_full(x))
        theta = x[mip.n_y :]
        value_master = float(info.objective_function_value)
        cand = np.flatnonzero(y > 0.5)
        Dc, value, short = separate(rows, y, theta, ls)
        if short.any():  # the plan leaves points with no open site in their rows: extend them first
            if extend is None:
                status = "time_limit"
                break
            rows = grow(rows, np.flatnonzero(short), Dc[short])
            ls = _level_start(rows)
            mip.rows = rows
            Dc, value, short = separate(rows, y, theta, ls)
        cost = rows.plan_cost(cand)
        if cost < best and not short.any():
            best_plan, best = cand, cost
            say(f"MIP round {stats['mip_rounds']}: incumbent {best:.8g}")
        viol = violated(Dc, value, theta)
        if ms == highspy.HighsModelStatus.kOptimal and not viol.any() and not short.any():
            bound = value_master
            best_plan, best = cand, cost
            break
        _add_pool(mip, np.flatnonzero(viol), Dc[viol], opened)
        say(f"MIP round {stats['mip_rounds']}: master {value_master:.8g}, plan {cost:.8g}, {int(viol.sum())} cuts added")
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    return BendersResult(np.sort(np.asarray(best_plan, int)), best, min(bound, best), status, rows, stats)


def _pool_D(master: _Master) -> np.ndarray:
    """The ``D`` of every cut in the pool, read back from the row lower bounds."""
    lp = master.h.getLp()
    return np.asarray(lp.row_lower_)[master.n_site_rows :]


def _add_pool(mip: _Master, pts: np.ndarray, D: np.ndarray, opened: np.ndarray) -> None:
    """Add cuts to a master whose fixed-open sites left the columns: a cut containing an open site
    cheaper than its ``D`` becomes ``θ_i ≥ D − (D − t)`` for the cheapest such site and the rest."""
    if not len(pts):
        return
    rows = mip.rows
    # the cheapest fixed-open site per point caps D: beyond it the cut only gets weaker
    o = opened[rows.site]
    first_open = np.full(rows.n, np.inf)
    np.minimum.at(first_open, rows.row[o], rows.minutes[o])
    D = np.minimum(D, first_open[pts])
    mip.add_cuts(pts, D)
