"""The LP bound of a dense p-median block and multipliers that attain it, from Benders cuts.

The Lagrangian branch-and-bound (:mod:`.lagrangian`) bounds by ``L(λ) = Σ_i λ_i + (sum of the p
smallest ρ_j)``, ``ρ_j = Σ_i min(0, c_ij − λ_i)``, whose best value is the LP bound; subgradient
ascent gets near it but not to it (TSPLIB rl1304, p = 10: 2 131 634 against 2 131 788; fl1400,
p = 200: 8 791 against 8 792.3). The LP itself is quick in the Benders form of the radius
formulation (:mod:`.benders`: ``y`` per site, ``θ_i`` per row, cuts ``θ_i ≥ D − Σ_{c_ij < D} (D −
c_ij) y_j``; Kelley's loop converges in a handful of HiGHS rounds). Its duals give multipliers: with
``μ_k ≥ 0`` the dual of cut ``k`` (of row ``i(k)``, level ``D_k``), ``λ_i = Σ_{k of i} μ_k D_k``.
Since ``Σ_{k of i} μ_k ≤ 1`` (the dual constraint of ``θ_i``) and ``t ↦ (D − t)⁺`` is convex,
``Σ_k μ_k (D_k − c_ij)⁺ ≥ (λ_i − c_ij)⁺`` for ``c_ij ≥ 0``, so ``L(λ)`` is at least the LP dual
value — the LP bound. ``L(λ)`` is recomputed exactly by the caller, so inexact duals can only
weaken the bound, never make it wrong.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import scipy.sparse as sp

from .benders import _level_start, _Master, _site_rows_p, separate, violated
from .sparse_rows import CappedRows

__all__ = ["dense_master", "lp_multipliers"]


def dense_master(c: np.ndarray, p: int, plan) -> tuple[CappedRows, _Master]:
    """The Benders master LP of the dense block ``c`` (``Σ y = p``, HiGHS quiet) with the cuts tight at ``plan``,
    and its rows: every pair a stored entry (zero costs included), each row's cap above its largest cost."""
    n, m = c.shape
    minutes = sp.csr_array((c.ravel(), np.tile(np.arange(m, dtype=np.int32), n), np.arange(0, n * m + 1, m)), shape=(n, m))
    rows = CappedRows(minutes, np.ones(n), c.max(axis=1) + 1.0)
    master = _Master(rows, _site_rows_p(m, p), np.ones(m, bool), np.zeros(m, bool), os.devnull)
    master.h.setOptionValue("output_flag", False)
    y = np.zeros(m)
    y[np.asarray(plan, int)] = 1.0
    D, _, _ = separate(rows, y, np.zeros(n))
    master.add_cuts(np.arange(n), D)
    return rows, master


def lp_multipliers(c: np.ndarray, p: int, plan, forced: np.ndarray, deadline: float = math.inf, max_rounds: int = 200):
    """Multipliers ``λ`` with ``L(λ)`` the LP bound of ``min Σ_i min_{j ∈ S} c_ij``, ``|S| = p``, ``forced ⊆ S``.

    Parameters
    ----------
    c : ndarray, shape (n, m)
        Non-negative costs.
    p : int
        Sites to open.
    plan : array of int
        A feasible plan (its tight cuts start the loop).
    forced : ndarray of bool
        Sites that must open.
    deadline : float
        ``time.perf_counter()`` value at which to give up.

    Returns
    -------
    (lam, y, value) or None
        The multipliers, the LP's site values and the LP value; ``None`` when the loop did not
        finish (time, round limit or a HiGHS failure).
    """
    import highspy

    n, m = c.shape
    rows, master = dense_master(c, p, plan)
    if forced.any():
        idx = np.flatnonzero(forced).astype(np.int32)
        master.h.changeColsBounds(len(idx), idx, np.ones(len(idx)), np.ones(len(idx)))
    ls = _level_start(rows)
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            return None
        if master.run(deadline) != highspy.HighsModelStatus.kOptimal:
            return None
        sol = master.h.getSolution()
        x = np.asarray(sol.col_value)
        y, theta = x[:m], x[m:]
        D, value, _ = separate(rows, y, theta, ls)
        viol = violated(D, value, theta)
        if not viol.any():
            mu = np.maximum(np.asarray(sol.row_dual)[1:], 0.0)  # row 0: Σ y = p; then the cuts, in order
            pts = np.concatenate(master.cut_point)
            levels = np.asarray(master.h.getLp().row_lower_)[1:]
            lam = np.bincount(pts, weights=mu * levels, minlength=n)
            return lam, y, float(master.h.getInfo().objective_function_value)
        master.add_cuts(np.flatnonzero(viol), D[viol])
    return None
