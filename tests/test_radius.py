"""The compact p-median (radius formulation with shared prefixes): its objective equals brute force for
every site choice, and the solved optimum equals brute force and the classical assignment formulation
on synthetic random instances with ties, unreachable pairs, constraints and wish bonuses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.models import PMedian, SiteConstraints
from siting.models.radius import build_radius, radius_cost


def _sparse(T):
    r, c = np.nonzero(np.isfinite(T))
    return sp.csr_array((T[r, c], (r, c)), shape=T.shape)


def _true_cost(T, w, open_mask, penalty):
    best = np.min(np.where(open_mask[None, :], T, np.inf), axis=1)
    return float(np.dot(w, np.where(np.isfinite(best), best, penalty)))


@pytest.mark.parametrize("seed", range(40))
def test_trie_cost_equals_brute_force_for_every_choice(seed):
    rng = np.random.default_rng(seed)
    nd, ns = int(rng.integers(1, 12)), int(rng.integers(2, 8))
    T = rng.integers(0, 6, (nd, ns)).astype(float)  # many ties
    T[rng.random((nd, ns)) < 0.3] = np.inf
    w = rng.integers(0, 4, nd).astype(float)
    fixed = rng.random(ns) < 0.25
    allowed = ~fixed & (rng.random(ns) < 0.9)
    p = int(rng.integers(0, allowed.sum() + 1))
    penalty = 100.0
    base = np.min(np.where(fixed[None, :], T, np.inf), axis=1)
    base = np.where(np.isfinite(base), base, penalty)
    rm = build_radius(_sparse(T), w, base, allowed, p)
    for combo in itertools.combinations(np.flatnonzero(allowed), p):
        open_mask = fixed.copy()
        open_mask[list(combo)] = True
        y = np.zeros(ns)
        y[list(combo)] = 1
        assert radius_cost(rm, y) == pytest.approx(_true_cost(T, w, open_mask, penalty), abs=1e-9)


def test_demand_points_on_one_node_share_every_variable():
    rng = np.random.default_rng(3)
    node_times = rng.uniform(0, 50, (1, 6))
    access = rng.uniform(0, 5, (30, 1))  # 30 synthetic points snapped to one node: times differ by a constant
    T = node_times + access
    rm = build_radius(_sparse(T), np.ones(30), np.full(30, 60.0), np.ones(6, bool), 2)
    single = build_radius(_sparse(node_times), np.ones(1), np.array([60.0]), np.ones(6, bool), 2)
    assert rm.n_nodes == single.n_nodes and rm.rows_in_model == 30


@pytest.mark.parametrize("seed", range(10))
def test_radius_equals_brute_force_and_assignment(seed):
    rng = np.random.default_rng(100 + seed)
    nd, ns = 14, 8
    T = rng.integers(0, 40, (nd, ns)).astype(float)
    T[rng.random((nd, ns)) < 0.25] = np.inf
    w = rng.integers(1, 50, nd).astype(float)
    fixed = np.zeros(ns, bool)
    fixed[: seed % 2] = True
    groups = np.array(list("aabbaabb"))
    cons = SiteConstraints(groups={"g": groups}, max_per_group={"g": 2} if seed % 3 == 0 else {},
                           required=np.eye(ns, dtype=bool)[3] if seed % 4 == 1 else None,
                           forbidden=np.eye(ns, dtype=bool)[5] if seed % 5 == 2 else None,
                           wish_bonus=rng.integers(0, 30, ns).astype(float) if seed % 2 else None)  # fmt: skip
    p = 2 + seed % 2
    sols = {
        "radius-highs": PMedian.from_cost_matrix(T, w, p, fixed=fixed, constraints=cons, formulation="radius").solve(),
        "radius-cbc": PMedian.from_cost_matrix(T, w, p, fixed=fixed, constraints=cons).solve(solver="cbc"),
        "assignment": PMedian.from_cost_matrix(T, w, p, fixed=fixed, constraints=cons, formulation="assignment").solve(),
    }
    if not cons.max_per_group and cons.wish_bonus is None:
        sols["lagrangian"] = PMedian.from_cost_matrix(T, w, p, fixed=fixed, constraints=cons, formulation="lagrangian").solve()
    penalty = 2 * T[np.isfinite(T)].max()
    allowed = ~fixed if cons.forbidden is None else ~fixed & ~cons.forbidden
    best = np.inf
    for combo in itertools.combinations(np.flatnonzero(allowed), p):
        if cons.required is not None and 3 not in combo:
            continue
        if cons.max_per_group and max(np.sum(groups[list(combo)] == g) for g in "ab") > 2:
            continue
        open_mask = fixed.copy()
        open_mask[list(combo)] = True
        bonus = 0.0 if cons.wish_bonus is None else cons.wish_bonus[list(combo)].sum()
        best = min(best, _true_cost(T, w, open_mask, penalty) - bonus)
    for name, s in sols.items():
        assert s.status == "optimal", name
        assert s.objective == pytest.approx(best, abs=1e-6), name
        assert s.bound == pytest.approx(best, rel=1e-6, abs=1e-6), name


def test_integral_lp_is_the_proof_and_a_fractional_lp_goes_on_to_the_mip():
    """The radius path solves the LP first: an integral LP optimum is returned as proven, a
    fractional one goes on to the MIP. Both kinds occur here, and every answer equals brute force."""
    seen = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        c = rng.uniform(1, 60, (30, 10))
        w = rng.integers(1, 50, 30).astype(float)
        fixed = np.zeros(10, bool)
        fixed[0] = True
        s = PMedian.from_cost_matrix(c, w, 3, fixed=fixed, formulation="radius").solve()
        seen.add(s.stats["lp_integral"])
        best = min(float(np.dot(w, c[:, [0, *k]].min(axis=1))) for k in itertools.combinations(range(1, 10), 3))
        assert s.status == "optimal"
        assert s.objective == pytest.approx(best) and s.bound == pytest.approx(best)
    assert seen == {True, False}
