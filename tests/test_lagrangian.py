"""The Lagrangian branch-and-bound p-median (siting.models.lagrangian): its optimum equals brute
force on synthetic random instances (ties, unreachable pairs, fixed/required/forbidden sites,
weights, integer and fractional costs) and the published optima of OR-Library pmed1–10; its
bound is a proof also when it stops early; ``formulation="auto"`` picks it only where it pays."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from siting.models import PMedian, SiteConstraints
from siting.models.lagrangian import pmedian_branch_and_bound
from siting.models.orlib import OPTIMA, read_pmed

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


def _brute(T, w, p, fixed, allowed, required, penalty):
    best = np.inf
    for combo in itertools.combinations(np.flatnonzero(allowed), p):
        if not set(required) <= set(combo):
            continue
        open_mask = fixed.copy()
        open_mask[list(combo)] = True
        t = np.min(np.where(open_mask[None, :], T, np.inf), axis=1)
        best = min(best, float(np.dot(w, np.where(np.isfinite(t), t, penalty))))
    return best


@pytest.mark.parametrize("seed", range(30))
def test_equals_brute_force(seed):
    rng = np.random.default_rng(500 + seed)
    nd, ns = int(rng.integers(5, 25)), int(rng.integers(4, 10))
    T = rng.integers(0, 30, (nd, ns)).astype(float)  # many ties
    if seed % 3 == 0:
        T += rng.random((nd, ns))  # fractional times
    T[rng.random((nd, ns)) < 0.2] = np.inf
    w = rng.integers(0, 40, nd).astype(float) + (rng.random(nd) if seed % 2 else 0)
    fixed = np.zeros(ns, bool)
    fixed[: seed % 3 == 1] = True
    forbidden = np.eye(ns, dtype=bool)[ns - 1] if seed % 4 == 2 else None
    required = [1] if seed % 5 == 3 else []
    allowed = ~fixed & (~forbidden if forbidden is not None else True)
    p = int(rng.integers(1, min(4, allowed.sum()) + 1))
    cons = SiteConstraints(required=np.isin(np.arange(ns), required), forbidden=forbidden)
    s = PMedian.from_cost_matrix(T, w, p, fixed=fixed, constraints=cons, formulation="lagrangian").solve()
    best = _brute(T, w, p, fixed, allowed, required, 2 * T[np.isfinite(T)].max())
    assert s.solver == "lagrangian-bb"
    assert s.status == "optimal"
    assert s.objective == pytest.approx(best, rel=1e-9, abs=1e-9)
    assert s.bound == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert set(required) <= set(s.selected) and len(s.selected) == p


@pytest.mark.parametrize("k", range(1, 11))
def test_or_library_optima(k):
    D, p = read_pmed(DATA / f"pmed{k}.txt.gz")
    res = pmedian_branch_and_bound(D, p)
    assert res.status == "optimal"
    assert res.objective == OPTIMA[f"pmed{k}"] == res.bound
    assert len(res.chosen) == p and D[:, res.chosen].min(axis=1).sum() == res.objective


def test_time_limit_keeps_a_true_bound():
    D, p = read_pmed(DATA / "pmed8.txt.gz")  # optimum 4 445, root bound ~1 % lower
    res = pmedian_branch_and_bound(D, p, time_limit=0.0)
    assert res.status == "time_limit"
    assert res.bound <= OPTIMA["pmed8"] <= res.objective
    s = PMedian.from_cost_matrix(D, np.ones(len(D)), p).solve(time_limit=0.0)
    assert s.status == "time_limit" and s.bound <= OPTIMA["pmed8"] <= s.objective and s.gap > 0


def test_requested_gap_is_not_called_optimal():
    D, p = read_pmed(DATA / "pmed8.txt.gz")
    res = pmedian_branch_and_bound(D, p, gap=0.05)
    assert res.status == "feasible"
    assert res.bound <= OPTIMA["pmed8"] <= res.objective <= res.bound / (1 - 0.05) + 1


def test_auto_uses_it_only_without_fixed_offices_and_side_constraints():
    D, p = read_pmed(DATA / "pmed2.txt.gz")
    w = np.ones(len(D))
    assert PMedian.from_cost_matrix(D, w, p).solve().solver == "lagrangian-bb"
    fixed = np.zeros(len(D), bool)
    fixed[0] = True
    assert PMedian.from_cost_matrix(D, w, p, fixed=fixed).solve().solver == "highs"
    bonus = SiteConstraints(wish_bonus=np.r_[5.0, np.zeros(len(D) - 1)])
    assert PMedian.from_cost_matrix(D, w, p, constraints=bonus).solve().solver == "highs"
    with pytest.raises(Exception, match="lagrangian"):
        PMedian.from_cost_matrix(D, w, p, constraints=bonus, formulation="lagrangian").solve()
    radius = PMedian.from_cost_matrix(D, w, p, formulation="radius").solve()
    assert radius.solver == "highs" and radius.objective == OPTIMA["pmed2"]


def test_rows_merged_and_demand_without_gain_is_constant():
    T = np.array([[1.0, 5, 9], [1, 5, 9], [4, 4, 4], [np.inf, 2, 3]])
    w = np.array([2.0, 3, 1, 4])
    s = PMedian.from_cost_matrix(T, w, 1, formulation="lagrangian").solve()
    # site 0: 5·1 + 1·4 + 4·(penalty 18) = 81; site 1: 25 + 4 + 8 = 37; site 2: 45 + 4 + 12 = 61
    assert list(s.selected) == [1] and s.objective == pytest.approx(37.0)
    assert s.stats["demand_rows_in_model"] == 3  # the two equal rows are one


def test_zero_times_restored_by_the_reachable_mask_count():
    # synthetic: sparse input drops zero times; ``reachable=`` says which pairs exist (zeros included)
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    T = rng.integers(0, 5, (30, 6)).astype(float)
    reach = rng.random((30, 6)) < 0.8
    S = sp.csr_array(np.where(reach, T, 0.0))
    w = rng.integers(1, 9, 30).astype(float)
    sols = {f: PMedian.from_cost_matrix(S, w, 2, reachable=reach, formulation=f).solve() for f in ("lagrangian", "radius")}
    penalty = 2 * T[reach].max()
    best = _brute(np.where(reach, T, np.inf), w, 2, np.zeros(6, bool), np.ones(6, bool), [], penalty)
    assert sols["lagrangian"].objective == pytest.approx(best) == sols["radius"].objective
