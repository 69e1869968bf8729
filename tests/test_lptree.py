"""LP-based branch-and-bound for the p-median (siting.models.lptree) and iterated substitution
(siting.models.swap.iterated_interchange), against brute force on synthetic random instances (ties,
zero costs, weights, fractional costs, required sites, points in the plane with floored distances,
whose LP relaxations are fractional so the tree branches)."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

import siting.models.lagrangian as lagrangian
from siting.models.lptree import lp_branch_and_bound
from siting.models.swap import interchange, iterated_interchange, plan_cost


def _brute(c, p, forced=()):
    forced = list(forced)
    rest = [j for j in range(c.shape[1]) if j not in forced]
    return min(plan_cost(c, forced + list(s)) for s in itertools.combinations(rest, p - len(forced)))


def _random(seed, n=14, m=9):
    rng = np.random.default_rng(5300 + seed)
    c = rng.integers(0, 9, (n, m)).astype(float) * rng.integers(1, 4, n)[:, None]  # ties, zeros, weights
    if seed % 2:
        c += rng.random((n, m))
    return c


def _plane(seed, n=28):
    """Clients = sites = random points; floored Euclidean distances (the TSPLIB convention)."""
    xy = np.random.default_rng(7100 + seed).random((n, 2)) * 1000
    return np.floor(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))


def _levels(integral):
    def prune_level(ub):
        tol = 1e-9 * max(1.0, abs(ub))
        return min(ub - 1 + 1e-6, ub - tol) if integral else ub - tol

    def cut_bound(ub):
        return math.floor(prune_level(ub)) + 1 if integral else prune_level(ub)

    return prune_level, cut_bound


@pytest.mark.parametrize("seed", range(12))
def test_lp_tree_equals_brute_force(seed):
    c = _random(seed) if seed < 6 else _plane(seed)
    m = c.shape[1]
    p = 2 + seed % 3
    forced = np.zeros(m, bool)
    if seed % 4 == 3:
        forced[1] = True
    start = sorted(set(np.flatnonzero(forced)) | set(range(m - 1, -1, -1)[: p - int(forced.sum())]))  # a poor start
    integral = bool(np.all(c == np.round(c)))
    res = lp_branch_and_bound(c, p, start, forced, *_levels(integral))
    best = _brute(c, p, np.flatnonzero(forced))
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best)
    assert plan_cost(c, res.chosen) == pytest.approx(best)
    assert len(set(res.chosen.tolist())) == p and forced[res.chosen].sum() == forced.sum()
    assert best - 1e-6 * max(1.0, best) <= res.bound <= best + 1e-9


def test_lp_tree_branches_and_stops_at_its_deadline():
    # points in the plane: fractional LP, so the tree branches; a past deadline leaves a proven bound
    for seed in range(20):
        c = _plane(seed, n=30)
        p = 4
        res = lp_branch_and_bound(c, p, list(range(p)), np.zeros(len(c), bool), *_levels(True))
        if res.stats["nodes"] > 1:
            break
    else:
        pytest.fail("no instance made the tree branch")
    assert res.status == "optimal" and res.objective == _brute(c, p)
    stopped = lp_branch_and_bound(c, p, list(range(p)), np.zeros(len(c), bool), *_levels(True), deadline=time.perf_counter())
    assert stopped.status == "time_limit"
    assert stopped.bound <= res.objective <= stopped.objective


# random integer blocks (22 × 14, weights) whose root the subgradient does not close: seeds found by search
THROUGH_TREE = [1, 3, 4, 6, 33, 36, 48, 59]


@pytest.mark.parametrize("seed", THROUGH_TREE)
def test_branch_and_bound_through_the_lp_tree_equals_brute_force(seed, monkeypatch):
    monkeypatch.setattr(lagrangian, "LP_TREE_MAX_GAP", 1.0)  # every open root goes to the LP tree
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 30, (22, 14)).astype(float) * rng.integers(1, 4, 22)[:, None]
    p = 3 + seed % 3
    required = [5] if seed % 2 else None
    lines = []
    res = lagrangian.pmedian_branch_and_bound(c, p, required=required, lp_tree=True, log=lines.append)
    best = _brute(c, p, [5] if required else ())
    assert "lp_tree" in res.stats and res.stats["nodes"] >= 3 and any("LP tree" in line for line in lines)
    assert res.status == "optimal"
    assert res.objective == best and res.bound == best
    assert required is None or 5 in res.chosen
    # the Lagrangian tree agrees; the same instance gives the same plan again (seeded substitution, HiGHS single-threaded)
    assert lagrangian.pmedian_branch_and_bound(c, p, required=required).objective == best
    again = lagrangian.pmedian_branch_and_bound(c, p, required=required, lp_tree=True)
    assert np.array_equal(again.chosen, res.chosen) and again.stats["nodes"] == res.stats["nodes"]


def test_iterated_interchange_is_repeatable_and_no_worse():
    c = _plane(3, n=60)
    forced = [7]
    start = [7, 1, 2, 3, 4]
    base, v0 = interchange(c, start, forced)
    a, va = iterated_interchange(c, start, forced, rounds=40, seed=1)
    b, vb = iterated_interchange(c, start, forced, rounds=40, seed=1)
    assert (a, va) == (b, vb)
    assert va <= v0 and va == pytest.approx(plan_cost(c, a))
    assert 7 in a and len(set(a)) == 5
    # no rounds: plain substitution
    assert iterated_interchange(c, start, forced, rounds=0) == (base, v0)
