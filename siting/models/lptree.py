"""Exact p-median on a dense block by LP-based branch-and-bound (the Benders master LP at every node).

The Lagrangian tree (:mod:`.lagrangian`) bounds each node by a few subgradient steps, a little
below the node's LP bound. Where the gap left at the root is narrow and ``p`` small that shortfall
decides: on TSPLIB rl1304 with p = 10 (LP gap 0.117 %, the LP solutions half-integral) it ran 6 486
nodes in 120 s without lifting the global bound above the root's. Here every node gets its exact LP
bound:

* **Node LP.** The master of :mod:`.benders` (``y`` per site, ``θ_i`` per row, ``Σ y = p``, cuts
  ``θ_i ≥ D − Σ_{c_ij < D} (D − c_ij) y_j``) with the node's fixings as column bounds, solved by
  HiGHS's dual simplex warm from the previous node; Kelley's loop adds each row's deepest violated
  cut until none is left. Cuts hold for every plan, so one pool serves the whole tree; after each
  node the cuts with slack are deleted (a deleted cut comes back if it is violated again): with them
  the LP grew to 7 000 rows and each solve took three times as long.
* **Pruning and fixing.** A node whose LP bound exceeds the prune level (``UB − 1`` for integer
  costs) holds no better plan; an integral LP solution is the node's optimum (a plan, and maybe a
  new incumbent). With the LP value ``z`` and a site's reduced cost ``r_j``, a site at 0 with
  ``z + r_j`` above the level is closed in the node's subtree, a site at 1 with ``z − r_j`` above it
  opened.
* **Branching.** Depth first (the LP stays warm), open first, on the fractional site of largest
  ``y`` and, among equals (the LP solutions are mostly half-integral), the one serving the least
  demand in the LP (:func:`_branch_site`). The incumbent comes from
  :func:`.swap.iterated_interchange` before the tree and from integral nodes in it.

Every bound reported is a proof: the smallest LP bound of a pruned or unexplored node, or the level
of a fixing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .benders import _level_start, separate, violated
from .lpbound import dense_master
from .sparse_rows import CappedRows
from .swap import plan_cost

__all__ = ["LPTreeResult", "lp_branch_and_bound"]


@dataclass
class LPTreeResult:
    """Outcome of :func:`lp_branch_and_bound`: the best plan (column indices), its cost, the proven
    bound, ``optimal`` or ``time_limit``, and counts (nodes, LP solves, cuts)."""

    chosen: np.ndarray
    objective: float
    bound: float
    status: str
    stats: dict = field(default_factory=dict)


def lp_branch_and_bound(c: np.ndarray, p: int, plan, forced: np.ndarray, prune_level: Callable[[float], float],
                        cut_bound: Callable[[float], float], deadline: float = math.inf, weights: np.ndarray | None = None,
                        log: Callable[[str], None] | None = None) -> LPTreeResult:  # fmt: skip
    """Prove ``min_{|S| = p, forced ⊆ S} Σ_i min_{j ∈ S} c_ij`` by LP-based branch-and-bound.

    Parameters
    ----------
    c : ndarray, shape (n, m)
        Non-negative costs (weight × time).
    p : int
        Sites to open.
    plan : sequence of int
        The incumbent (``p`` columns, ``forced`` among them).
    forced : ndarray of bool
        Columns that must open.
    prune_level : callable
        ``prune_level(ub)``: a node whose bound exceeds it holds no plan better than ``ub``.
    cut_bound : callable
        ``cut_bound(ub)``: what is known of the plans cut off by a fixing at ``prune_level(ub)``.
    deadline : float
        ``time.perf_counter()`` value at which to stop (status ``time_limit``, bound still proven).
    weights : ndarray, optional
        Each row's demand weight (for the branching rule; default 1).
    log : callable, optional
        Receives progress lines.
    """
    import highspy

    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    n, m = c.shape
    best = np.sort(np.asarray(plan, int))
    ub = plan_cost(c, best)
    level = prune_level(ub)
    rows, master = dense_master(c, p, best)  # no row is short: every pair is in it
    h = master.h
    ls = _level_start(rows)
    idx = np.arange(m, dtype=np.int32)
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    stats = {"nodes": 0, "lp_solves": 0, "cuts": master.n_cuts, "integral_nodes": 0}
    infeasible = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)

    def node_lp(lo: np.ndarray, hi: np.ndarray):
        """(LP value, y, reduced costs) of the node; ``y`` is ``None`` when the node is pruned by
        its bound or infeasible, the value ``None`` when time ran out."""
        h.changeColsBounds(m, idx, lo, hi)
        while True:
            if time.perf_counter() > deadline:
                return None, None, None
            status = master.run(deadline)
            stats["lp_solves"] += 1
            if status in infeasible:
                return math.inf, None, None
            if status != highspy.HighsModelStatus.kOptimal:
                return None, None, None
            sol = h.getSolution()
            x = np.asarray(sol.col_value)
            z = float(h.getInfo().objective_function_value)
            if z > level:  # the cuts so far already prove it (every master LP is a relaxation)
                return z, None, None
            y, theta = x[:m], x[m:]
            Dc, value, _ = separate(rows, y, theta, ls)
            viol = violated(Dc, value, theta)
            if not viol.any():
                return z, y, np.asarray(sol.col_dual)[:m]
            stats["cuts"] += master.add_cuts(np.flatnonzero(viol), Dc[viol])

    def purge() -> None:
        """Delete the cuts with slack at the last LP solution (row 0 is ``Σ y = p``)."""
        act = np.asarray(h.getSolution().row_value)
        lower = np.asarray(h.getLp().row_lower_)
        gone = np.flatnonzero(act[1:] - lower[1:] > 1e-6 * np.maximum(1.0, np.abs(lower[1:]))) + 1
        if len(gone):
            h.deleteRows(len(gone), gone.astype(np.int32))

    lo0 = forced.astype(float)
    stack: list[tuple[np.ndarray, np.ndarray, float]] = [(lo0, np.ones(m), -math.inf)]
    proven = math.inf  # the smallest bound of anything cut off
    status = "optimal"
    last = time.perf_counter()
    while stack:
        lo, hi, parent = stack.pop()
        if lo.sum() > p or hi.sum() < p:
            continue
        z, y, rc = node_lp(lo, hi)
        if z is None:
            stack.append((lo, hi, parent))
            status = "time_limit"
            break
        stats["nodes"] += 1
        if y is None:
            proven = min(proven, max(z, parent))
            continue
        z = max(z, parent)
        frac = np.flatnonzero((y > 1e-6) & (y < 1 - 1e-6))
        if not len(frac):  # integral (and the cuts exact there): the node's optimum, its LP value
            stats["integral_nodes"] += 1
            cand = np.flatnonzero(y > 0.5)
            cost = plan_cost(c, cand)
            if cost < ub:
                best, ub, level = cand, cost, prune_level(cost)
                say(f"LP tree node {stats['nodes']}: incumbent {ub:.8g}")
            proven = min(proven, z)
            continue
        purge()
        lo, hi = lo.copy(), hi.copy()
        close = (y < 1e-9) & (z + rc > level) & (hi > 0) & (lo < 1)
        open_ = (y > 1 - 1e-9) & (z - rc > level) & (lo < 1)
        if close.any() or open_.any():
            hi[close], lo[open_] = 0.0, 1.0
            proven = min(proven, cut_bound(ub))
        j = _branch_site(rows, y, frac, w)
        shut, on = hi.copy(), lo.copy()
        shut[j], on[j] = 0.0, 1.0
        stack.append((lo, shut, z))
        stack.append((on, hi, z))
        if time.perf_counter() - last > 5:
            say(f"LP tree: {stats['nodes']} nodes, incumbent {ub:.8g}, {len(stack)} open, {h.getNumRow()} LP rows")
            last = time.perf_counter()
    if stack:
        proven = min([proven] + [b for *_, b in stack])
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    return LPTreeResult(best, ub, min(proven, ub), status, stats)


def _branch_site(rows: CappedRows, y: np.ndarray, frac: np.ndarray, w: np.ndarray) -> int:
    """The fractional site to branch on: largest ``y``, then the least demand it serves in the LP.

    In the LP each row takes its sites in cost order until their ``y`` sum to 1 (``x_ij = min(y_j,
    1 − Σ_{cheaper} y)``); a site's demand is ``Σ_i w_i x_ij``. On rl1304 (p = 10 … 18, where the
    LP solutions are mostly ``y = ½``) breaking the ties this way took 330 nodes in all against 490
    by index and 400 by the site's share of the LP cost.
    """
    ye = y[rows.site]
    cum = np.cumsum(ye)
    row0 = np.r_[0.0, cum][rows.indptr[:-1]]
    before = cum - ye - row0[rows.row]  # Σ y of the row's cheaper entries
    served = np.bincount(rows.site, weights=np.clip(1.0 - before, 0.0, ye) * w[rows.row], minlength=len(y))
    return int(frac[np.lexsort((served[frac], -np.round(y[frac], 6)))[0]])
