"""LP multipliers for the p-median branch-and-bound (siting.models.lpbound): ``L(λ)`` of the
multipliers read from the Benders master LP's duals equals the LP bound of the assignment
formulation (solved independently by scipy's linprog) and never exceeds the brute-force optimum, on
synthetic random instances with ties, zero costs, weights, duplicate rows and required sites; the
branch-and-bound with and without the LP root equals brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from siting.models.capped import RadiusSubtree
from siting.models.lagrangian import _rho, _select, pmedian_branch_and_bound
from siting.models.lpbound import lp_multipliers
from siting.models.swap import plan_cost


def _instance(seed, n=12, m=8):
    rng = np.random.default_rng(4200 + seed)
    c = rng.integers(0, 9, (n, m)).astype(float) * rng.integers(1, 4, n)[:, None]  # ties, zeros, weights
    if seed % 2:
        c += rng.random((n, m))
    if seed % 3 == 0:
        c[1] = c[0]  # duplicate rows
    return c


def _assignment_lp(c, p, forced):
    """min Σ c_ij x_ij, Σ_j x_ij = 1, x_ij ≤ y_j, Σ y = p, y_forced = 1 (0 ≤ x, y ≤ 1)."""
    n, m = c.shape
    nx = n * m
    rows = np.repeat(np.arange(n), m)
    eq = sp.hstack([sp.csr_array((np.ones(nx), (rows, np.arange(nx))), shape=(n, nx)), sp.csr_array((n, m))])
    eq = sp.vstack([eq, sp.hstack([sp.csr_array((1, nx)), sp.csr_array(np.ones((1, m)))])])
    link = sp.hstack([sp.eye(nx), -sp.csr_array((np.ones(nx), (np.arange(nx), np.tile(np.arange(m), n))), shape=(nx, m))])
    bounds = [(0, 1)] * nx + [(1 if f else 0, 1) for f in forced]
    res = linprog(np.r_[c.ravel(), np.zeros(m)], A_ub=link, b_ub=np.zeros(nx), A_eq=eq, b_eq=np.r_[np.ones(n), p],
                  bounds=bounds, method="highs")  # fmt: skip
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("seed", range(16))
def test_multipliers_attain_the_lp_bound(seed):
    c = _instance(seed)
    n, m = c.shape
    p = 1 + seed % 4
    forced = np.zeros(m, bool)
    if seed % 4 == 3:
        forced[[0, 5][: min(2, p)]] = True
    plan = list(np.flatnonzero(forced)) + [j for j in range(m) if not forced[j]][: p - int(forced.sum())]
    got = lp_multipliers(c, p, plan, forced)
    assert got is not None
    lam, y, value = got
    rho = _rho(c, lam)
    L = lam.sum() + rho[_select(rho, forced, p)].sum()
    lp = _assignment_lp(c, p, forced)
    best = min(plan_cost(c, s) for s in itertools.combinations(range(m), p) if set(np.flatnonzero(forced)) <= set(s))
    assert value == pytest.approx(lp, rel=1e-7, abs=1e-7)
    assert L == pytest.approx(lp, rel=1e-7, abs=1e-7)
    assert L <= best + 1e-7
    assert y.sum() == pytest.approx(p) and np.all(y[forced] > 1 - 1e-9)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("lp_root", [True, False])
def test_branch_and_bound_with_lp_root_equals_brute_force(seed, lp_root):
    c = _instance(seed, n=15, m=9)
    p = 1 + seed % 4
    required = [3] if seed % 3 == 2 else None
    best = min(plan_cost(c, s) for s in itertools.combinations(range(9), p) if required is None or 3 in s)
    for subtree in (None, RadiusSubtree()):
        res = pmedian_branch_and_bound(c, p, required=required, subtree=subtree, lp_root=lp_root)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(best, abs=1e-9) and res.bound == pytest.approx(best, abs=1e-6)
        assert len(res.chosen) == p and plan_cost(c, res.chosen) == pytest.approx(best)
        assert required is None or 3 in res.chosen


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("limit", [8, 20, 40, 80])
def test_root_retried_below_a_restricted_plan_equals_brute_force(seed, limit):
    # entry limits around the root model's size: the root is branched, solved whole at once, or
    # solved after the restricted MIP over the LP's sites lowered the level (and with it the model)
    c = _instance(100 + seed, n=18, m=10)
    p = 2 + seed % 3
    required = [4] if seed % 4 == 1 else None
    best = min(plan_cost(c, s) for s in itertools.combinations(range(10), p) if required is None or 4 in s)
    nodes = RadiusSubtree(limit=limit)
    res = pmedian_branch_and_bound(c, p, required=required, subtree=nodes)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best, abs=1e-9) and res.bound == pytest.approx(best, abs=1e-6)
    assert len(res.chosen) == p and plan_cost(c, res.chosen) == pytest.approx(best)
    assert required is None or 4 in res.chosen


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("limit", [5, 15, 40])
def test_root_node_from_a_poor_level_with_the_lp_support(seed, limit):
    # the root of a tree whose incumbent is poor: the restricted MIP over the LP's sites may find a
    # better plan, which lowers the level; what the node reports must hold against brute force
    c = _instance(300 + seed, n=18, m=10)
    m = c.shape[1]
    p = 2 + seed % 3
    costs = {s: plan_cost(c, s) for s in itertools.combinations(range(m), p)}
    best = min(costs.values())
    level = float(np.quantile(list(costs.values()), 0.5))
    lam, y, _ = lp_multipliers(c, p, min(costs, key=costs.get), np.zeros(m, bool))
    rho = _rho(c, lam)
    L = lam.sum() + rho[_select(rho, np.zeros(m, bool), p)].sum()
    nodes = RadiusSubtree(limit=limit)
    res = nodes(c, rho, lam, L, p, level, np.inf, support=y)
    if res is None:  # branched: nothing was found below the level
        return
    plan, bound, finished = res
    assert plan is None or (len(set(plan)) == p and plan_cost(c, plan) <= level)
    if finished:  # nothing better than the plan (or, without one, below the level)
        assert (plan_cost(c, plan) if plan is not None else level) <= best + 1e-9 or best > level
        if plan is not None:
            assert plan_cost(c, plan) == pytest.approx(best)
    else:
        assert finished is None and plan is not None and bound <= best + 1e-9
