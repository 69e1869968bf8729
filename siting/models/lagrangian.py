"""Exact p-median by Lagrangian relaxation and branch-and-bound, on a dense cost block.

For instances where every demand point may be served by many candidates — the dense OR-Library
instances, a region's sites without existing offices — the compact radius formulation still has
one level per demand point and distinct time, and its LP relaxation is neither small nor
integral. There the classical approach of Beasley (1985, 1993) proves optimality much faster:

* **Bound.** Relax "every demand point is assigned once" with multipliers ``λ``: for a site
  ``j`` let ``ρ_j = Σ_i min(0, c_ij − λ_i)``; then ``L(λ) = Σ_i λ_i + (sum of the p smallest ρ_j)``
  is a lower bound for any ``λ`` (the subproblem has the integrality property, so the best ``λ``
  gives the LP bound). ``λ`` is improved by subgradient steps (Polyak step towards the incumbent).
  When that bound does not close the root, the LP bound itself replaces it: multipliers attaining
  it come from the duals of the Benders master LP (:mod:`.lpbound`, a few HiGHS rounds).
* **Incumbent.** Greedy plus vertex-substitution (Teitz & Bart 1968) local search, repeated from
  every Lagrangian solution that improves on it.
* **Fixing.** A site outside the Lagrangian solution whose forced opening raises the bound above
  the incumbent (``L + ρ_j − ρ_(p) ≥ UB``) cannot be in a better plan and is closed for good;
  symmetrically a site in it whose closing does so is opened. At the root this usually removes
  most candidates; in the tree it prunes children before they are created.
* **Branching.** Depth first on the free site of the Lagrangian solution with the smallest
  ``ρ`` (open first, then closed); each child starts from its parent's ``λ`` and computes ``ρ``
  only for the sites it has not closed. With ``lp_tree`` a root left open with a narrow gap is
  branched by :mod:`.lptree` instead, with the exact LP bound at every node.

Costs are ``c_ij = w_i · min(t_ij, b_i)`` where ``b_i`` is what point ``i`` has whatever opens
(nearest fixed office or the unreachable penalty), so fixed offices need no columns. Points
with equal rows are merged (weights summed). When every ``c_ij`` is an integer the objective is
too, and a node is pruned once its bound exceeds ``UB − 1``; otherwise once it reaches ``UB``
within a relative ``1e-9``. The reported bound is the smallest bound of any pruned or unexplored
node (rounded up to an integer only in the integer case), so it is a proof, not an estimate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .lpbound import lp_multipliers
from .lptree import lp_branch_and_bound
from .swap import SortedRows, greedy, interchange, iterated_interchange, plan_cost

__all__ = ["BranchAndBoundResult", "pmedian_branch_and_bound"]

NODE_STEP, NODE_PATIENCE = 2.0, 10  # first subgradient step and its patience in tree nodes (tuned on OR-Library)


@dataclass
class BranchAndBoundResult:
    """Outcome of :func:`pmedian_branch_and_bound`.

    Attributes
    ----------
    chosen : ndarray of int
        Column indices of the ``p`` open sites.
    objective : float
        ``Σ_i min_{j open} c_ij`` of ``chosen``.
    bound : float
        Proven lower bound on the optimum.
    status : str
        ``optimal`` (tree exhausted) or ``time_limit``.
    stats : dict
        Root bound, sites left after root fixing, nodes, subgradient iterations, seconds.
    """

    chosen: np.ndarray
    objective: float
    bound: float
    status: str
    stats: dict = field(default_factory=dict)


def _select(rho: np.ndarray, opened: np.ndarray, p: int) -> np.ndarray:
    """The Lagrangian subproblem: the forced-open columns plus the smallest remaining ``ρ``."""
    r = np.where(opened, -np.inf, rho)
    return np.argpartition(r, p - 1)[:p] if p < len(r) else np.arange(len(r))


def _rho(c: np.ndarray, lam: np.ndarray, buf: np.ndarray | None = None) -> np.ndarray:
    """``ρ_j = Σ_i min(0, c_ij − λ_i)``."""
    buf = np.empty_like(c) if buf is None else buf
    np.subtract(c, lam[:, None], out=buf)
    np.minimum(buf, 0.0, out=buf)
    return buf.sum(axis=0)


def _dual(c: np.ndarray, lam: np.ndarray, opened: np.ndarray, p: int, ub: float, stop: float, max_iter: int, step: float,
          patience: int, scale: np.ndarray, give_up: bool = True, deadline: float = math.inf,
          ) -> tuple[float, np.ndarray, np.ndarray, int]:  # fmt: skip
    """Subgradient ascent on ``L(λ)`` over the columns of ``c``; return (bound, its λ, its ρ, iterations).

    ``scale``: per-row step scale (the row's weight): a row's ``λ_i`` lives on the scale of its
    costs, so heavy rows take proportionally larger steps (a diagonally scaled subgradient).
    ``give_up``: stop early once the recent progress, kept up, would not reach ``stop`` (a node
    that will be branched anyway); the root instead ascends fully, its bound drives the fixing.
    ``deadline`` (``time.perf_counter()`` value): stop there (the bound so far is still a bound).

    The steps run in single precision (twice the arithmetic per second; they only steer ``λ``);
    the returned bound is ``L`` of the best ``λ`` recomputed in double precision, so it is exact
    (and so is the returned ``ρ``, which the caller's fixing uses).
    """
    c32 = c.astype(np.float32)
    buf = np.empty_like(c32)  # one work array: large temporaries per step cost more than the arithmetic
    best, best_lam = -math.inf, lam
    stall = 0
    it = 0
    mark = -math.inf
    for it in range(1, max_iter + 1):
        lam32 = lam.astype(np.float32)
        rho = _rho(c32, lam32, buf)
        sel = _select(rho, opened, p)
        value = float(lam.sum() + rho[sel].astype(float).sum())
        if value > best + 1e-12 * max(1.0, abs(value)):
            best, best_lam, stall = value, lam, 0
        else:
            stall += 1
            if stall >= patience:
                step, stall = step / 2, 0
        if best > stop or step < 1e-3:
            break
        if it % 10 == 0 and time.perf_counter() > deadline:
            break
        if give_up and it % 10 == 0:
            if it >= 20 and best + (best - mark) * (max_iter - it) / 10 < stop:
                break
            mark = best
        g = 1.0 - (c32[:, sel] < lam32[:, None]).sum(axis=1)
        d = scale * g
        norm = float(g @ d)
        if norm == 0:  # the relaxed solution assigns every point once: L is the LP bound
            break
        lam = lam + step * max(ub - value, 1e-9 * max(1.0, abs(ub))) / norm * d
    rho = _rho(c, best_lam)
    return float(best_lam.sum() + rho[_select(rho, opened, p)].sum()), best_lam, rho, it


def pmedian_branch_and_bound(
    cost: np.ndarray,
    p: int,
    *,
    required: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    time_limit: float | None = None,
    gap: float = 0.0,
    node_iterations: int = 100,
    log: Callable[[str], None] | None = None,
    subtree: Callable | None = None,
    lp_root: bool = True,
    lp_tree: bool = False,
) -> BranchAndBoundResult:
    """Solve ``min_{|S| = p} Σ_i min_{j ∈ S} cost[i, j]`` exactly.

    Parameters
    ----------
    cost : ndarray, shape (n_points, n_sites)
        Weighted costs (``w_i · t_ij``), finite (cap each row at its fallback — nearest fixed
        office or unreachable penalty — before calling).
    p : int
        Number of sites to open (``1 ≤ p ≤ n_sites``).
    required : array of int, optional
        Columns that must be among the ``p``.
    weights : array of float, optional
        Each row's demand weight (its costs are weight × time): scales the subgradient steps.
    time_limit : float, optional
        Seconds; when reached, the best plan so far and the proven bound are returned with status
        ``time_limit``.
    gap : float
        Relative gap at which a node counts as closed (0: prove optimality; otherwise the status is
        ``feasible`` and the bound says how far from optimal the plan can be).
    node_iterations : int
        Subgradient iterations per tree node (the root gets more).
    log : callable, optional
        Receives one progress line at a time.
    subtree : callable, optional
        Tried on every node before branching: ``subtree(c, rho, lam, bound, p, level, deadline)``
        with the node's reduced costs ``rho`` (``-inf``: fixed open, ``inf``: closed), multipliers
        and Lagrangian bound; returns ``None`` (branch as usual) or ``(plan, bound, finished)``: the
        best plan of the node below ``level`` (``None`` if there is none; any plan, inside the node or
        not, may become the incumbent) and whether the node is closed (``True``), time is up
        (``False``, ``bound`` bounds the node) or it is to be branched after all (``None``)
        (:class:`.capped.RadiusSubtree`). At the root after an LP bound, also ``support=`` the LP's
        site values.
    lp_root : bool
        When the subgradient root bound does not close the root, replace it by the LP bound
        (:func:`.lpbound.lp_multipliers`) and round the LP's site values for an incumbent.
    lp_tree : bool
        When the subgradient bound leaves the root open with a relative gap of at most
        :data:`LP_TREE_MAX_GAP`, improve the incumbent by iterated substitution and branch with the
        exact LP bound at every node (:mod:`.lptree`, whose root LP is the LP bound) instead of the
        Lagrangian tree (for small ``p``, where the LP solutions are half-integral and the
        subgradient nodes stall).

    Returns
    -------
    BranchAndBoundResult
    """
    t0 = time.perf_counter()
    c = np.ascontiguousarray(cost, dtype=float)
    n, m = c.shape
    if not 1 <= p <= m:
        raise ValueError(f"p must be between 1 and the number of sites ({m}), not {p}")
    forced = np.zeros(m, bool)
    if required is not None:
        forced[np.asarray(required, int)] = True
    if forced.sum() > p:
        raise ValueError(f"{int(forced.sum())} required sites but p = {p}")
    say = log or (lambda _msg: None)
    integral = bool(np.all(c == np.round(c)) and np.abs(c).sum() < 2**52)

    def prune_level(ub: float) -> float:
        tol = max(1e-9 * max(1.0, abs(ub)), gap * abs(ub))
        return min(ub - 1 + 1e-6, ub - tol) if integral else ub - tol

    def cut_bound(ub: float) -> float:
        """What is known of plans cut off above ``prune_level(ub)``: integer objectives beyond it are at least its floor + 1."""
        level = prune_level(ub)
        return math.floor(level) + 1 if integral else level

    forced_set = set(np.flatnonzero(forced).tolist())
    inc, ub = interchange(c, greedy(c, p, np.flatnonzero(forced)), forced_set)
    say(f"incumbent {ub:.6g} (greedy + interchange)")
    if m == p or n == 0:
        chosen = np.arange(m) if m == p else np.array(sorted(inc))
        obj = plan_cost(c, chosen) if n else 0.0
        return BranchAndBoundResult(chosen, obj, obj, "optimal", {"nodes": 0, "seconds": time.perf_counter() - t0})

    # root: a long ascent from λ_i = the second-smallest cost of the row
    lam0 = np.partition(c, 1, axis=1)[:, 1] if m > 1 else c[:, 0].copy()
    scale = np.ones(n) if weights is None else np.asarray(weights, float)
    deadline = math.inf if time_limit is None else t0 + time_limit
    root, lam, rho, iters = _dual(c, lam0, forced, p, ub, prune_level(ub), 3000, 2.0, 30, scale, give_up=False, deadline=deadline)
    total_iters = iters
    plan2, ub2 = interchange(c, _select(np.where(forced, -np.inf, rho), forced, p), forced_set)  # the root's Lagrangian plan
    if ub2 < ub:
        inc, ub = plan2, ub2
    lp_used, y_root = False, None
    pairs = [(root, rho)]  # (L(λ), ρ) of every root λ: each one's fixing holds
    # a narrow gap left open: the exact LP bound at every node (whose root LP gives the LP bound) instead of the Lagrangian tree
    by_lp_tree = lp_tree and m > p and prune_level(ub) >= root >= ub - LP_TREE_MAX_GAP * abs(ub)
    if lp_root and not by_lp_tree and root <= prune_level(ub) and m > p:
        t_lp = time.perf_counter()
        got = lp_multipliers(c, p, inc, forced, deadline)
        if got is not None:
            lam_lp, y_lp, _ = got
            y_root = y_lp
            rho_lp = _rho(c, lam_lp)
            root_lp = float(lam_lp.sum() + rho_lp[_select(rho_lp, forced, p)].sum())  # exact, whatever the duals
            say(f"LP bound {root_lp:.8g} from the Benders master LP ({time.perf_counter() - t_lp:.1f} s); subgradient {root:.8g}")
            pairs.append((root_lp, rho_lp))  # (the LP duals are often degenerate: the subgradient's ρ may fix more)
            if root_lp > root:
                root, lam, rho, lp_used = root_lp, lam_lp, rho_lp, True
            for start in (np.argsort(-np.where(forced, np.inf, y_lp), kind="stable")[:p], _select(rho_lp, forced, p)):
                plan3, ub3 = interchange(c, start, forced_set)  # the LP rounded, the LP multipliers' Lagrangian plan
                if ub3 < ub:
                    inc, ub = plan3, ub3
                    say(f"incumbent {ub:.6g} (from the LP + interchange)")
    # per site, the largest bound of the plans opening it (outside each λ's selection) over the root's λ
    fix_bound = np.full(m, -np.inf)
    for value, r in pairs:
        kth = np.sort(np.where(forced, -np.inf, r))[p - 1]
        fix_bound = np.maximum(fix_bound, value + np.maximum(0.0, r - kth))
    keep = forced | (fix_bound <= prune_level(ub))
    for j in inc:  # keep the incumbent's columns (local search below works on the kept block)
        keep[j] = True
    cols = np.flatnonzero(keep)
    say(f"root bound {root:.6g} after {iters} subgradient steps; incumbent {ub:.6g}; {len(cols)} of {m} sites left after fixing")
    ck = np.ascontiguousarray(c[:, cols])
    kf = forced[cols]
    pos = {int(j): k for k, j in enumerate(cols)}
    best_plan = [pos[int(j)] for j in inc]
    # the smallest bound of anything cut off: nodes closed without branching, and sites fixed (their
    # plans are only known to lie above the level they were fixed at — with a gap, below the incumbent)
    proven = cut_bound(ub) if len(cols) < m else math.inf
    if by_lp_tree:
        return _lp_tree(ck, cols, kf, best_plan, p, root, proven, prune_level, cut_bound, integral, deadline, scale, say, t0,
                        {"root_bound": root, "root_lp": lp_used, "sites_after_root_fixing": int(len(cols)),
                         "subgradient_steps": total_iters, "integer_costs": integral})  # fmt: skip
    nodes = 0
    stack: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = [(kf.copy(), np.zeros(len(cols), bool), lam, root)]
    # root fixing again whenever the incumbent improves: a site the root's λ prices above it is closed in every node
    root_fix = fix_bound[cols]
    shut_ub, root_shut = ub, np.zeros(len(cols), bool)
    status = "optimal"
    last_log = time.perf_counter()
    while stack:
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            status = "time_limit"
            break
        opened, closed, lam_parent, parent_bound = stack.pop()
        nodes += 1
        if ub < shut_ub:
            shut_ub, root_shut = ub, ~kf & (root_fix > prune_level(ub))
        if (root_shut & opened).any():  # the node holds only plans the root bound puts above the incumbent
            proven = min(proven, cut_bound(ub))
            continue
        if (root_shut & ~closed).any():
            closed = closed | root_shut
            proven = min(proven, cut_bound(ub))
        if closed.all() or (~closed).sum() < p:
            continue
        act = np.flatnonzero(~closed)
        sub = ck[:, act]
        if lp_used and nodes == 1:  # the root's LP multipliers: no subgradient step improves on them
            lam_node, rho_a = lam_parent, _rho(sub, lam_parent)
            lag = float(lam_node.sum() + rho_a[_select(rho_a, opened[act], p)].sum())
        else:
            lag, lam_node, rho_a, iters = _dual(sub, lam_parent, opened[act], p, ub, prune_level(ub), node_iterations, NODE_STEP,
                                                NODE_PATIENCE, scale)  # fmt: skip
            total_iters += iters
        bound = max(lag, parent_bound)  # a child's optimum is no better than its parent's bound
        if bound > prune_level(ub):
            proven = min(proven, bound)
            continue
        rho = np.full(len(cols), np.inf)
        rho[act] = rho_a
        r = np.where(opened, -np.inf, rho)
        order = np.argsort(r, kind="stable")
        sel = order[:p]
        value = plan_cost(ck, sel)
        if value < ub * (1 - 1e-12):
            plan, value = interchange(ck, [int(j) for j in sel], np.flatnonzero(kf))
            if value < ub:
                best_plan, ub = plan, value
                say(f"node {nodes}: incumbent {ub:.6g}")
        # fixing: sites whose forced change lifts the bound above the incumbent
        kth = r[order[p - 1]]
        nxt = r[order[p]] if len(order) > p and np.isfinite(r[order[p]]) else math.inf
        free = ~opened & ~closed
        in_sel = np.zeros(len(cols), bool)
        in_sel[sel] = True
        # (from this node's own L(λ): the reduced costs belong to its λ, not to the parent's bound)
        with np.errstate(invalid="ignore"):  # inf − inf for closed sites: never selected
            fix_closed = free & ~in_sel & (lag + np.maximum(0.0, rho - kth) > prune_level(ub))
            fix_open = free & in_sel & (lag + np.maximum(0.0, nxt - rho) > prune_level(ub))
        if fix_closed.any() or fix_open.any():
            closed, opened = closed | fix_closed, opened | fix_open
            proven = min(proven, cut_bound(ub))
        free = ~opened & ~closed
        n_open, n_free = int(opened.sum()), int(free.sum())
        if n_open + n_free < p:
            proven = min(proven, bound)
            continue
        if n_open == p or n_open + n_free == p:  # a leaf: one plan left
            leaf = np.flatnonzero(opened if n_open == p else opened | free)
            value = plan_cost(ck, leaf)
            if value < ub:
                best_plan, ub = [int(j) for j in leaf], value
            proven = min(proven, value)
            continue
        if subtree is not None:
            level = prune_level(ub)
            hint = {"support": y_root[cols]} if nodes == 1 and y_root is not None else {}  # the root LP's sites
            res = subtree(ck, np.where(opened, -np.inf, np.where(closed, np.inf, rho)), lam_node, lag, p, level, deadline, **hint)
            if res is not None:
                plan, sub_bound, finished = res
                better = plan is not None and plan_cost(ck, plan) < ub
                if better:
                    best_plan, ub = [int(j) for j in plan], plan_cost(ck, plan)
                    say(f"node {nodes}: incumbent {ub:.6g} (radius MIP)")
                if finished:  # nothing in the node below the level but that plan
                    proven = min(proven, ub if better else (math.floor(level) + 1 if integral else level))
                    continue
                if finished is not None:  # time is up
                    proven = min(proven, max(bound, sub_bound))
                    status = "time_limit"
                    break
        candidates = [int(j) for j in sel if free[j]]
        j = min(candidates, key=lambda k: rho[k])
        shut = closed.copy()
        shut[j] = True
        stack.append((opened.copy(), shut, lam_node, bound))
        on = opened.copy()
        on[j] = True
        stack.append((on, closed.copy(), lam_node, bound))
        if time.perf_counter() - last_log > 5:
            say(f"node {nodes}: incumbent {ub:.6g}, {len(stack)} open nodes")
            last_log = time.perf_counter()
    if stack:
        proven = min([proven] + [b for *_, b in stack])
    bound = min(proven, ub)
    if integral:  # an integer objective is at least the bound rounded up
        bound = min(ub, math.ceil(bound - 1e-6))
    if status == "optimal" and gap > 0:
        status = "feasible"  # closed at the requested gap, not proven optimal
    chosen = np.sort(cols[np.asarray(best_plan, int)])
    secs = time.perf_counter() - t0
    say(f"{status}: objective {ub:.6g}, bound {bound:.6g}, {nodes} nodes, {total_iters} subgradient steps, {secs:.2f} s")
    stats = {"root_bound": root, "root_lp": lp_used, "sites_after_root_fixing": int(len(cols)), "nodes": nodes, "subgradient_steps": total_iters,
             "integer_costs": integral, "seconds": round(secs, 3)}  # fmt: skip
    return BranchAndBoundResult(chosen, plan_cost(c, chosen), bound, status, stats)


#: Relative root gap (incumbent − subgradient bound) up to which ``lp_tree`` branches on LP bounds: TSPLIB rl1304, p = 10:
#: 0.17 % (the Lagrangian tree: unproven after 900 s; the LP tree: 12 s in all); OR-Library pmed35–39 (p = 5, 10): 0.6–1.1 %
#: (the Lagrangian tree 1–5 s, the LP tree 3–38 s: with a wide gap the tree enumerates, and cheap nodes win).
LP_TREE_MAX_GAP = 0.004

#: Rounds of iterated substitution before the LP tree (each a vertex substitution from a perturbed best plan).
LP_TREE_ILS_ROUNDS = 30


def _lp_tree(ck, cols, kf, plan, p, root, proven, prune_level, cut_bound, integral, deadline, weights, say, t0, stats,
             ) -> BranchAndBoundResult:  # fmt: skip
    """The incumbent improved by iterated substitution, then :func:`.lptree.lp_branch_and_bound` on the kept columns."""
    t_ils = time.perf_counter()
    share = t_ils + 0.2 * (deadline - t_ils) if math.isfinite(deadline) else math.inf
    plan, ub = iterated_interchange(ck, plan, np.flatnonzero(kf), rounds=LP_TREE_ILS_ROUNDS, rows=SortedRows(ck), deadline=share)
    say(f"incumbent {ub:.8g} after iterated substitution ({time.perf_counter() - t_ils:.1f} s)")
    res = lp_branch_and_bound(ck, p, plan, kf, prune_level, cut_bound, deadline, weights, say)
    bound = max(root, min(proven, res.bound))
    if integral:
        bound = math.ceil(bound - 1e-6)
    bound = min(bound, res.objective)
    secs = time.perf_counter() - t0
    say(f"{res.status}: objective {res.objective:.6g}, bound {bound:.6g}, LP tree {res.stats['nodes']} nodes, "
        f"{res.stats['lp_solves']} LP solves, {secs:.2f} s")
    stats = {**stats, "nodes": res.stats["nodes"], "lp_tree": res.stats, "seconds": round(secs, 3)}
    chosen = np.sort(cols[np.asarray(res.chosen, int)])
    return BranchAndBoundResult(chosen, res.objective, bound, res.status, stats)
