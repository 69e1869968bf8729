"""Nodes of the p-median branch-and-bound solved whole by HiGHS: client radii and a truncated radius MIP.

The Lagrangian branch-and-bound of :mod:`.lagrangian` proves small p fast, but at large p its tree
grows (rl1304, p = 100: 4 800 nodes in 60 s without closing a 0.03 % gap): its subgradient bound
stays a little below the LP bound, and the LP bound is often the optimum. So each node first asks
whether a small exact MIP can finish it (:class:`RadiusSubtree`, given to
:func:`.lagrangian.pmedian_branch_and_bound` as ``subtree``). Three proofs, each valid for every plan
of the node cheaper than the incumbent ``UB`` (the only plans still of interest), make it small:

1. **Site fixing** (as in :mod:`.lagrangian`): with ``L(λ) = Σ_i λ_i + Σ_{p smallest} ρ_j``,
   ``ρ_j = Σ_i min(0, c_ij − λ_i)``, a site whose forced opening (closing) lifts ``L`` above ``UB``
   is closed (opened).
2. **Client radii** (:func:`client_radii`). A plan ``S`` in which client ``i`` has no open site
   cheaper than ``R`` costs at least ``Σ_{k≠i} λ_k + R + Σ_{j ∈ S} ρ_j`` (client ``i`` at its true
   cost, the others by the Lagrangian bound; leaving ``i`` out of ``ρ`` only raises it), and ``S``
   avoids the sites cheaper than ``R``: the Lagrangian selection loses those and gains at least the
   next smallest ``ρ``. The smallest ``R_i`` at which this exceeds ``UB`` is a radius every better
   plan serves client ``i`` within (a site fixed open cheaper than ``R`` ends it there).
3. **Radius formulation truncated at the radii** (Elloumi 2010; García, Labbé & Marín 2011, who
   grow such radii iteratively; here they are proven at once): per client only the sites cheaper
   than ``R_i`` enter its levels (:func:`.radius.build_radius`) and a client served by none of them
   is charged its largest cost. Every plan's truncated cost is then at least its true cost, and
   equal for every plan better than ``UB``; HiGHS solves it with ``UB`` as objective cut-off.

The MIP's optimum below the cut-off is the node's optimum; no solution below it closes the node.
The model shrinks as p grows (radii a few sites wide), exactly where the tree search struggles; at
small p the radii are wide and the node is branched instead.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from .radius import build_radius
from .swap import interchange, plan_cost

__all__ = ["RadiusSubtree", "client_radii"]


def client_radii(c: np.ndarray, lam: np.ndarray, rho: np.ndarray, bound: float, p: int, level: float) -> np.ndarray:
    """Per client ``i``, a cost ``R_i`` such that every plan costing at most ``level`` serves ``i`` below ``R_i``.

    ``bound`` is ``L(λ)`` for the multipliers ``lam`` with reduced costs ``rho`` (see module docstring;
    ``rho`` is ``-inf`` for sites fixed open, ``inf`` for closed ones, as in a branch-and-bound node);
    ``inf`` where no radius is proven.
    """
    n, m = c.shape
    order = np.argsort(rho, kind="stable")
    in_sel = np.zeros(m, bool)
    in_sel[order[:p]] = True
    # extra[k]: the k smallest ρ outside the selection (what replaces k selected sites, at least)
    extra = np.r_[0.0, np.cumsum(rho[order[p:]])]
    extra = np.r_[extra, np.full(max(0, p + 1 - len(extra)), np.inf)]
    by_cost = np.argsort(c, axis=1, kind="stable")
    cs = np.take_along_axis(c, by_cost, axis=1)
    sel_s = in_sel[by_cost]
    # sites strictly cheaper than cs[:, q]: the positions before the first one of equal cost
    zero = np.zeros((n, 1))
    k_before = np.hstack([zero, np.cumsum(sel_s, axis=1)[:, :-1]]).astype(int)
    # (ρ = −inf for a site fixed open: once it is cheaper than R, R is beyond every plan of the node)
    rho_before = np.hstack([zero, np.cumsum(np.where(sel_s, rho[by_cost], 0.0), axis=1)[:, :-1]])
    start = np.ones_like(sel_s)
    start[:, 1:] = cs[:, 1:] != cs[:, :-1]
    idx = np.where(start, np.arange(m)[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    k_lt = np.take_along_axis(k_before, idx, axis=1)
    r_lt = np.take_along_axis(rho_before, idx, axis=1)
    value = bound - lam[:, None] + cs + extra[np.minimum(k_lt, p)] - r_lt
    beyond = value > level
    first = np.argmax(beyond, axis=1)
    return np.where(beyond.any(axis=1), cs[np.arange(n), first], np.inf)


def _below_incumbent(c: np.ndarray, plan, bound: float, p: int, rho: np.ndarray):
    """A better incumbent ``plan``: the level only better plans stay below, and ``rho`` with the
    sites that level fixes (``None`` when ``bound`` already exceeds it: the node is finished)."""
    level = _level_below(c, plan_cost(c, plan))
    if bound > level:
        return level, None
    return level, _fix(rho, bound, p, level)


class RadiusSubtree:
    """A node of :func:`.lagrangian.pmedian_branch_and_bound` solved by HiGHS on the truncated radius
    formulation, when that model has at most ``limit`` level entries (else the node is branched).

    First the LP relaxation (dual simplex): its bound may close the node. Then a cheap incumbent: the
    MIP restricted to the sites the LP uses plus the ``2p`` smallest ``ρ`` (a few hundred sites, a
    fraction of a second), improved by :func:`.swap.interchange`; a better plan lowers the level,
    which shrinks the radii, and the model is rebuilt. Last the MIP over all the node's sites with the
    node's open sites fixed and the level as cut-off. At the root the limit is ``root_factor × limit``;
    a root too large for it first runs the same restricted MIP (with more nodes and time) over the
    sites of the caller's LP (``support``), then over the ``3p``, ``6p`` and ``12p`` sites of smallest
    ``ρ``, each set kept while it improves; a better plan lowers the level and the model is tried
    again, else the root is branched.
    ``calls``, ``solved``, ``entries`` (largest model) and ``mip_nodes`` count what it did.
    """

    def __init__(self, limit: int = 60_000, log: Callable[[str], None] | None = None, log_path: str | None = None,
                 root_factor: float = 2.0):  # fmt: skip
        self.limit, self.root_factor, self.root_rounds = limit, root_factor, 6
        self.say = log or (lambda _msg: None)
        self.log_path = log_path or os.devnull  # where HiGHS's banner goes (printed by C code on creation)
        self.calls = self.solved = self.entries = self.mip_nodes = 0

    def _model(self, c, lam, rho, bound, p, level, keep, limit=None, heuristic=False):
        """The truncated radius model over the sites ``keep`` (``None`` when it has more than ``limit`` entries).

        ``heuristic``: radii also capped at the first cost beyond ``1.5 λ_i`` — no longer a proof, but
        every plan's truncated cost still at least its true cost, so its MIP's plans are real plans.
        """
        radii = client_radii(c, lam, rho, bound, p, level)
        if heuristic:
            radii = np.minimum(radii, np.where(c > 1.5 * lam[:, None], c, np.inf).min(axis=1))
        top = c.max(axis=1)
        cap = np.where(np.isfinite(radii), radii, top + 1.0)
        reach = sp.csr_array(np.where(keep[None, :] & (c < cap[:, None]), c + 1.0, 0.0))  # stored: cost + 1 (zeros kept)
        if reach.nnz > (self.limit if limit is None else limit):
            return None
        reach.data -= 1.0
        # a client served by none of its radius sites is charged its largest cost: every plan's truncated cost
        # is then at least its true cost, and equal for the plans that serve every client within its radius
        return build_radius(reach, np.ones(c.shape[0]), cap, keep, p, fallback=np.maximum(cap, top))

    def _bounded_model(self, c, lam, rho, bound, p, level):
        """The truncated radius model over the node's open sites, ``None`` when beyond the entry limit
        (``root_factor × limit`` at the root: one model there saves many below it)."""
        closed = np.isposinf(rho)
        limit = self.limit * (self.root_factor if self.calls == 1 else 1)
        # every radius is at most the first cost above λ_i + (level − bound): a cheap upper limit of the model's size
        small = ((c <= (lam + (level - bound))[:, None]) & ~closed[None, :]).sum() <= 4 * limit
        return self._model(c, lam, rho, bound, p, level, ~closed, limit) if small else None

    def _restricted(self, c, lam, rho, bound, p, level, few, opened, deadline, nodes=50, share=10.0, most=10.0):
        """A plan cheaper than ``level`` from the MIP over the sites ``few`` + vertex substitution, or ``None``."""
        small = self._model(c, lam, rho, bound, p, level, few, heuristic=True) if few.sum() >= p else None
        if small is None:
            return None
        # a heuristic: at most `nodes` branch-and-bound nodes and 1/`share` of the time left (at most `most` s)
        left = deadline - time.perf_counter()
        h = _radius_highs(small, np.flatnonzero(few), p, opened[few], level, time.perf_counter() + min(left / share, most),
                          banner=self.log_path)  # fmt: skip
        h.setOptionValue("mip_max_nodes", nodes)
        h.run()
        if not h.getSolution().value_valid:
            return None
        pick = np.flatnonzero(few)[np.asarray(h.getSolution().col_value)[: int(few.sum())] > 0.5]
        if len(pick) != p:
            return None
        plan, value = interchange(c, pick, np.flatnonzero(opened))  # sites fixed open (required ones too) stay
        if value > level:
            return None
        self.say(f"incumbent {value:.6g} (MIP over {int(few.sum())} sites, {len(small.level_sites)} level entries + interchange)")
        return np.asarray(plan)

    def __call__(self, c, rho, lam, bound, p, level, deadline, support=None):
        """Solve the node whole if its model is small enough (see class docstring); ``support``: the
        site values of an LP solution of the node, if the caller has one (it seeds the restricted MIP)."""
        import highspy

        self.calls += 1
        closed, opened = np.isposinf(rho), np.isneginf(rho)
        rm = self._bounded_model(c, lam, rho, bound, p, level)
        plan = None
        if rm is None:  # branch; at the root first look for a better incumbent among the sites of smallest ρ
            if self.calls > 1:
                return None
            # the LP's sites (if any), then the 3p, 6p, 12p of smallest ρ, each kept while it improves
            sets = ([] if support is None else [np.asarray(support) > 1e-6]) + [3, 6, 12]
            k = 0
            for _ in range(self.root_rounds):  # (once per solve: up to 500 nodes, a fifth of the time left, at most 60 s each)
                if k == len(sets):
                    break
                few = opened.copy()
                if isinstance(sets[k], int):
                    few[np.argsort(rho, kind="stable")[: sets[k] * p]] = True
                else:
                    few |= sets[k]
                better = self._restricted(c, lam, rho, bound, p, level, few & ~closed, opened, deadline, 500, 5.0, 60.0)
                if better is None:
                    k += 1
                    continue
                plan = better
                # only plans below the new incumbent matter now: fix, and try the (smaller) model again
                level, rho = _below_incumbent(c, plan, bound, p, rho)
                if rho is None:
                    return plan, bound, True
                closed, opened = np.isposinf(rho), np.isneginf(rho)
                rm = self._bounded_model(c, lam, rho, bound, p, level)
                if rm is not None:
                    break
            if rm is None:
                return None if plan is None else (plan, -math.inf, None)
        cols = np.flatnonzero(~closed)
        self.solved += 1
        self.say(f"radius MIP: {len(cols)} sites ({int(opened.sum())} open), {rm.n_nodes} levels, {len(rm.level_sites)} level entries")
        lp = _radius_highs(rm, cols, p, opened[cols], level, deadline, integer=False, banner=self.log_path)
        lp.run()
        if lp.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            if lp.getInfo().objective_function_value > level:
                return plan, float(lp.getInfo().objective_function_value), True
            y = np.zeros(c.shape[1])
            y[cols] = np.asarray(lp.getSolution().col_value)[: len(cols)]
            few = (y > 1e-6) | opened
            few[np.argsort(rho, kind="stable")[: 2 * p]] = True
            better = self._restricted(c, lam, rho, bound, p, level, few & ~closed, opened, deadline)
            if better is not None:  # a better incumbent: only plans below it matter now
                plan = better
                level, rho = _below_incumbent(c, plan, bound, p, rho)
                if rho is None:
                    return plan, bound, True
                closed, opened = np.isposinf(rho), np.isneginf(rho)
                cols = np.flatnonzero(~closed)
                rm = self._model(c, lam, rho, bound, p, level, ~closed, math.inf)  # smaller than before
                self.say(f"{len(rm.level_sites)} level entries below the new incumbent")
        self.entries = max(self.entries, len(rm.level_sites))
        h = _radius_highs(rm, cols, p, opened[cols], level, deadline, banner=self.log_path)
        h.run()
        status, info = h.getModelStatus(), h.getInfo()
        self.mip_nodes += int(info.mip_node_count)
        sol = h.getSolution()
        if sol.value_valid:
            y = np.asarray(sol.col_value)[: len(cols)]
            cand = cols[y > 0.5]
            if len(cand) == p and (plan is None or plan_cost(c, cand) < plan_cost(c, plan)):
                plan = cand
        hs = highspy.HighsModelStatus
        finished = status in (hs.kOptimal, hs.kInfeasible, hs.kObjectiveBound, hs.kObjectiveTarget)
        return plan, float(getattr(info, "mip_dual_bound", -math.inf)), finished


def _level_below(c: np.ndarray, value: float) -> float:
    """The pruning level of the branch-and-bound for incumbent ``value`` (integer costs: one below it)."""
    return value - 1 + 1e-6 if np.all(c == np.round(c)) else value - 1e-9 * max(1.0, abs(value))


def _fix(rho: np.ndarray, bound: float, p: int, level: float) -> np.ndarray:
    """Lagrangian fixing (as in :mod:`.lagrangian`) at a lower ``level``: ``rho`` with the sites now closed
    set to ``inf`` and those now fixed open to ``-inf``."""
    order = np.argsort(rho, kind="stable")
    kth = rho[order[p - 1]]
    nxt = rho[order[p]] if len(rho) > p else math.inf
    sel = np.zeros(len(rho), bool)
    sel[order[:p]] = True
    with np.errstate(invalid="ignore"):  # inf − inf: already decided
        shut = ~sel & np.isfinite(rho) & (bound + np.maximum(0.0, rho - kth) > level)
        keep = sel & np.isfinite(rho) & (bound + np.maximum(0.0, nxt - rho) > level)
    return np.where(shut, np.inf, np.where(keep, -np.inf, rho))


def _radius_highs(rm, cols: np.ndarray, p: int, opened: np.ndarray, cutoff: float, deadline: float, integer: bool = True,
                  banner: str = os.devnull):  # fmt: skip
    """The radius MIP over ``cols`` (``y``: sites, then one ``z`` per trie node) as a HiGHS model."""
    import highspy

    from .base import _stdout_to_log

    m, nz = len(cols), rm.n_nodes
    pos = np.full(int(cols.max()) + 1, -1)
    pos[cols] = np.arange(m)
    size = np.diff(rm.level_ptr)
    has_par = rm.parent >= 0
    r = np.r_[np.arange(nz), np.repeat(np.arange(nz), size), np.flatnonzero(has_par), np.full(m, nz)]
    k = np.r_[m + np.arange(nz), pos[rm.level_sites], m + rm.parent[has_par], np.arange(m)]
    v = np.r_[np.ones(nz), np.ones(len(rm.level_sites)), -np.ones(int(has_par.sum())), np.ones(m)]
    A = sp.csc_array((v, (r, k)), shape=(nz + 1, m + nz))
    A.sort_indices()
    with _stdout_to_log(banner):
        h = highspy.Highs()
    for key, val in {"output_flag": False, "threads": 1, "random_seed": 0, "mip_rel_gap": 0.0, "mip_abs_gap": 0.0}.items():
        h.setOptionValue(key, val)
    if integer:  # only plans below the cut-off matter
        h.setOptionValue("objective_bound", float(cutoff))
    if math.isfinite(deadline):
        h.setOptionValue("time_limit", max(0.0, deadline - time.perf_counter()))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + nz, nz + 1
    lp.col_cost_ = np.r_[np.zeros(m), rm.coef]
    lp.col_lower_ = np.r_[opened.astype(float), np.zeros(nz)]
    lp.col_upper_ = np.r_[np.ones(m), np.full(nz, np.inf)]
    lp.row_lower_ = np.r_[np.where(has_par, 0.0, 1.0), p]
    lp.row_upper_ = np.r_[np.full(nz, np.inf), p]
    lp.offset_ = rm.constant
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * nz
    h.passModel(lp)
    return h
