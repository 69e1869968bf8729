"""Exact p-median at large p (siting.models.capped, siting.models.swap, siting.models.tsplib): the
client radii proven from a Lagrangian bound hold for every plan below the level (checked by
enumerating all plans on synthetic random instances with ties, weights and nodes with sites fixed
open or closed); the branch-and-bound with radius-MIP nodes equals brute force and the radius
formulation; the swap heuristic ends in a swap-local optimum; the TSPLIB reader and its distance
convention."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from siting.models import PMedian
from siting.models.capped import RadiusSubtree, client_radii
from siting.models.lagrangian import _dual, pmedian_branch_and_bound
from siting.models.orlib import OPTIMA as PMED_OPTIMA
from siting.models.orlib import read_pmed
from siting.models.swap import greedy, interchange, plan_cost
from siting.models.tsplib import distances, read_tsp

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


def _instance(seed, n=14, m=8):
    rng = np.random.default_rng(900 + seed)
    c = rng.integers(0, 12, (n, m)).astype(float) * rng.integers(1, 4, n)[:, None]  # ties, weights
    if seed % 2:
        c += rng.random((n, m))
    return c


@pytest.mark.parametrize("seed", range(12))
def test_radii_hold_for_every_plan_below_the_level(seed):
    c = _instance(seed)
    n, m = c.shape
    p = 2 + seed % 3
    rng = np.random.default_rng(seed)
    rho_fixed = np.zeros(m)
    if seed % 3 == 1:  # a node: one site fixed open, one closed
        rho_fixed[0], rho_fixed[1] = -np.inf, np.inf
    lam0 = np.partition(c, 1, axis=1)[:, 1] + rng.random(n) * (seed % 4)
    opened = np.isneginf(rho_fixed)
    L, lam, rho, _ = _dual(c[:, ~np.isposinf(rho_fixed)], lam0, opened[~np.isposinf(rho_fixed)], p, 1e3, 1e3, 30, 1.0, 5, np.ones(n))
    full = np.full(m, np.inf)
    full[~np.isposinf(rho_fixed)] = rho
    full[opened] = -np.inf
    plans = [s for s in itertools.combinations(range(m), p) if all(j in s for j in np.flatnonzero(opened))
             and not any(np.isposinf(full[j]) for j in s)]  # fmt: skip
    costs = np.array([plan_cost(c, s) for s in plans])
    assert L <= costs.min() + 1e-9  # the Lagrangian bound of the node
    level = float(np.quantile(costs, 0.3))
    radii = client_radii(c, lam, full, L, p, level)
    for s, v in zip(plans, costs, strict=True):
        if v <= level:
            assert np.all(c[:, list(s)].min(axis=1) < radii)


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("limit", [0, 10**6])
def test_branch_and_bound_with_radius_nodes_equals_brute_force(seed, limit):
    c = _instance(seed, n=16, m=9)
    p = 1 + seed % 4
    required = [2] if seed % 5 == 0 else None
    best = min(plan_cost(c, s) for s in itertools.combinations(range(9), p) if required is None or 2 in s)
    nodes = RadiusSubtree(limit=limit)
    res = pmedian_branch_and_bound(c, p, required=required, subtree=nodes)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best, abs=1e-9) and res.bound == pytest.approx(best, abs=1e-6)
    assert plan_cost(c, res.chosen) == pytest.approx(best) and len(res.chosen) == p
    assert nodes.solved == (nodes.calls if limit else 0)  # every node that reached it went to HiGHS whole, or none


@pytest.mark.parametrize("k", [5, 10])
def test_or_library_optima_through_radius_nodes(k):
    D, p = read_pmed(DATA / f"pmed{k}.txt.gz")
    res = pmedian_branch_and_bound(D, p, subtree=RadiusSubtree())
    assert res.status == "optimal" and res.objective == PMED_OPTIMA[f"pmed{k}"] == res.bound


def test_time_limit_keeps_a_true_bound_with_radius_nodes():
    D, p = read_pmed(DATA / "pmed8.txt.gz")
    res = pmedian_branch_and_bound(D, p, time_limit=0.0, subtree=RadiusSubtree())
    assert res.status == "time_limit" and res.bound <= PMED_OPTIMA["pmed8"] <= res.objective


@pytest.mark.parametrize("seed", range(6))
def test_interchange_ends_in_a_swap_local_optimum(seed):
    c = _instance(seed, n=20, m=10)
    p = 2 + seed % 4
    forced = [0] if seed % 2 else []
    start = greedy(c, p, forced)
    assert len(set(start)) == p and set(forced) <= set(start)
    plan, value = interchange(c, start, forced)
    assert value == pytest.approx(plan_cost(c, plan)) and value <= plan_cost(c, start) + 1e-9
    assert set(forced) <= set(plan) and len(set(plan)) == p
    for k, j in itertools.product(range(p), range(10)):
        if j not in plan and plan[k] not in forced:
            assert plan_cost(c, plan[:k] + [j] + plan[k + 1 :]) >= value - 1e-9


def test_tsplib_reader_and_floored_distances(tmp_path):
    xy = read_tsp(DATA / "rl1304.tsp.gz")
    assert xy.shape == (1304, 2) and list(xy[0]) == [15440.0, 8888.0] and list(xy[-1]) == [11120.0, 4708.0]
    assert read_tsp(DATA / "fl1400.tsp.gz").shape == (1400, 2)
    f = tmp_path / "t.tsp"
    f.write_text("NAME : t\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 1.6 0\nEOF\n")
    pts = read_tsp(f)
    assert distances(pts)[0, 1] == 5 and distances(pts)[0, 2] == 1 and distances(pts, "nint")[0, 2] == 2
    f.write_text("NAME : t\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : GEO\nNODE_COORD_SECTION\n1 0 0\nEOF\n")
    with pytest.raises(ValueError, match="EUC_2D"):
        read_tsp(f)


def test_rl1304_slice_equals_the_radius_formulation():
    D = distances(read_tsp(DATA / "rl1304.tsp.gz")[:200])  # the first 200 points, p = 20
    w = np.ones(200)
    auto = PMedian.from_cost_matrix(D, w, 20).solve()
    radius = PMedian.from_cost_matrix(D, w, 20, formulation="radius").solve()
    assert auto.solver == "lagrangian-bb" and auto.status == radius.status == "optimal"
    assert auto.objective == radius.objective == auto.bound


@pytest.mark.parametrize("seed", [8, 38])
@pytest.mark.parametrize("with_nodes", [False, True])
def test_branching_needed_equals_the_radius_formulation(seed, with_nodes):
    # synthetic points (80, p = 7) where the optimum needs the tree: a wrong prune there once lost it
    rng = np.random.default_rng(seed)
    xy = rng.random((80, 2))
    c = np.floor(np.sqrt(((xy[:, None] - xy[None, :]) ** 2).sum(-1)) * 1000)
    ref = PMedian.from_cost_matrix(c, np.ones(80), 7, formulation="radius").solve()
    res = pmedian_branch_and_bound(c, 7, subtree=RadiusSubtree(limit=0) if with_nodes else None)
    assert ref.status == res.status == "optimal"
    assert res.objective == ref.objective == res.bound
