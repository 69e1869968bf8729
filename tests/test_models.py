"""Facility-location models checked against brute-force enumeration on small random instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.errors import InfeasibleError
from siting.models import LSCP, MCLP, BackupCoverage, Hybrid, PCenter, PMedian, SiteConstraints

T = 30.0


def synthetic_instance(seed: int, nd: int = 10, ns: int = 7, n_fixed: int = 1):
    """Random synthetic instance: dense times with ~20 % unreachable pairs (inf)."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 60, (nd, ns)).round(1)
    cost[rng.random((nd, ns)) < 0.2] = np.inf
    w = rng.integers(1, 100, nd).astype(float)
    fixed = np.zeros(ns, bool)
    fixed[:n_fixed] = True
    return cost, w, fixed


def _times(cost, fixed, S):
    open_ = list(np.flatnonzero(fixed)) + list(S)
    return cost[:, open_].min(axis=1) if open_ else np.full(cost.shape[0], np.inf)


def _subsets(fixed, p, allowed=None):
    cand = [j for j in range(len(fixed)) if not fixed[j] and (allowed is None or allowed[j])]
    return list(itertools.combinations(cand, p))


def coverage(cost, w, fixed, S, r=T):
    return w[_times(cost, fixed, S) <= r].sum()


def median_cost(cost, w, fixed, S):
    pen = 2 * cost[np.isfinite(cost)].max()
    t = _times(cost, fixed, S)
    return (w * np.where(np.isfinite(t), t, pen)).sum()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_mclp_pmedian_pcenter_match_brute_force(seed, p):
    cost, w, fixed = synthetic_instance(seed)
    subsets = _subsets(fixed, p)
    m = MCLP.from_cost_matrix(cost, w, p, fixed=fixed, service_radius=T).solve()
    assert m.status == "optimal" and m.objective == pytest.approx(max(coverage(cost, w, fixed, S) for S in subsets))
    assert coverage(cost, w, fixed, m.selected) == pytest.approx(m.objective)
    pm = PMedian.from_cost_matrix(cost, w, p, fixed=fixed).solve()
    assert pm.objective == pytest.approx(min(median_cost(cost, w, fixed, S) for S in subsets))
    reach = np.isfinite(cost.min(axis=1))
    pc = PCenter.from_cost_matrix(cost, w, p, fixed=fixed).solve()
    best = min(_times(cost, fixed, S)[reach].max() for S in subsets)
    assert pc.objective == pytest.approx(best)
    assert len(pc.selected) == p and set(np.flatnonzero(fixed)) <= set(pc.open_sites)


@pytest.mark.parametrize("seed", range(6))
def test_lscp_and_backup_match_brute_force(seed):
    cost, w, fixed = synthetic_instance(seed)
    share = 0.8
    total = w.sum()
    feasible = [k for k in range(0, 7) if any(coverage(cost, w, fixed, S) >= share * total - 1e-9 for S in _subsets(fixed, k))]
    if not feasible:
        with pytest.raises(InfeasibleError):
            LSCP.from_cost_matrix(cost, w, 0, fixed=fixed, service_radius=T, target_share=share).solve()
    else:
        sol = LSCP.from_cost_matrix(cost, w, 0, fixed=fixed, service_radius=T, target_share=share).solve()
        assert len(sol.selected) == min(feasible)
    p = 2

    def backup(S):
        t = cost[:, list(np.flatnonzero(fixed)) + list(S)]
        n = (t <= T).sum(axis=1)
        return w[n >= 1].sum() + w[n >= 2].sum()

    b = BackupCoverage.from_cost_matrix(cost, w, p, fixed=fixed, service_radius=T).solve()
    assert b.objective == pytest.approx(max(backup(S) for S in _subsets(fixed, p)))


@pytest.mark.parametrize("seed", range(4))
def test_lexicographic_hybrid(seed):
    cost, w, fixed = synthetic_instance(seed)
    subs = _subsets(fixed, 2)
    best_cov = max(coverage(cost, w, fixed, S) for S in subs)
    best_time = min(median_cost(cost, w, fixed, S) for S in subs if coverage(cost, w, fixed, S) >= best_cov - 1e-9)
    h = Hybrid.from_cost_matrix(cost, w, 2, fixed=fixed, service_radius=T, lexicographic=True).solve()
    assert h.objective == pytest.approx(best_time)
    assert coverage(cost, w, fixed, h.selected) == pytest.approx(best_cov)


@pytest.mark.parametrize("seed", range(4))
def test_cbc_and_highs_agree(seed):
    cost, w, fixed = synthetic_instance(seed, nd=25, ns=12)
    for model in (MCLP, PMedian):
        a = model.from_cost_matrix(cost, w, 3, fixed=fixed, service_radius=T).solve(solver="highs")
        b = model.from_cost_matrix(cost, w, 3, fixed=fixed, service_radius=T).solve(solver="cbc")
        assert a.status == b.status == "optimal" and a.objective == pytest.approx(b.objective)


def test_constraints_honoured():
    cost, w, fixed = synthetic_instance(3, nd=20, ns=9)
    groups = np.array(["A", "A", "A", "A", "B", "B", "B", "C", "C"])
    required = np.zeros(9, bool)
    required[8] = True
    forbidden = np.zeros(9, bool)
    forbidden[4] = True
    cons = SiteConstraints(required=required, forbidden=forbidden, groups={"d": groups}, max_per_group={"d": 1})
    sol = MCLP.from_cost_matrix(cost, w, 3, fixed=fixed, constraints=cons, service_radius=T).solve()
    assert 8 in sol.selected and 4 not in sol.selected and 0 in sol.open_sites
    assert max(np.bincount([ord(g) for g in groups[sol.selected]])) == 1
    ok = [S for S in _subsets(fixed, 3) if 8 in S and 4 not in S and len({groups[j] for j in S}) == 3]
    assert sol.objective == pytest.approx(max(coverage(cost, w, fixed, S) for S in ok))


def test_wish_bonus_changes_the_choice():
    # two candidates cover 50 and 49 people; a bonus of 5 makes the second win
    cost = np.array([[10, np.inf, np.inf], [np.inf, 10, np.inf], [np.inf, np.inf, 10]], float)
    w = np.array([100.0, 50.0, 49.0])
    fixed = np.array([True, False, False])
    plain = MCLP.from_cost_matrix(cost, w, 1, fixed=fixed, service_radius=T).solve()
    assert list(plain.selected) == [1]
    bonus = SiteConstraints(wish_bonus=np.array([0, 0, 5.0]))
    assert list(MCLP.from_cost_matrix(cost, w, 1, fixed=fixed, constraints=bonus, service_radius=T).solve().selected) == [2]


def test_infeasible_constraints_name_the_constraint():
    cost, w, fixed = synthetic_instance(0)
    groups = np.array(["Oslo"] + ["Finnmark"] * 2 + ["Vest"] * 4)
    cons = SiteConstraints(groups={"politidistrikt": groups}, min_per_group={"politidistrikt": {"Finnmark": 3}})
    with pytest.raises(InfeasibleError, match="politidistrikt Finnmark: at least 3 new offices required but only 2 candidates allowed"):
        MCLP.from_cost_matrix(cost, w, 3, fixed=fixed, constraints=cons, service_radius=T)
    with pytest.raises(InfeasibleError, match="p=9 new offices but only 6 candidate sites"):
        MCLP.from_cost_matrix(cost, w, 9, fixed=fixed, service_radius=T)
    both = np.zeros(7, bool)
    both[2] = True
    with pytest.raises(InfeasibleError, match="both required and forbidden"):
        PMedian.from_cost_matrix(cost, w, 1, fixed=fixed, constraints=SiteConstraints(required=both, forbidden=both))


def test_unreachable_demand_is_not_nan_and_sparse_equals_dense():
    cost, w, fixed = synthetic_instance(1)
    cost[0, :] = np.inf  # a demand point nobody reaches (an island without ferry)
    rows, cols = np.nonzero(np.isfinite(cost))
    sparse = sp.csr_array((cost[rows, cols], (rows, cols)), shape=cost.shape)
    for model in (MCLP, PMedian, PCenter):
        a = model.from_cost_matrix(cost, w, 2, fixed=fixed, service_radius=T).solve()
        b = model.from_cost_matrix(sparse, w, 2, fixed=fixed, service_radius=T).solve()
        assert np.isfinite(a.objective) and a.objective == pytest.approx(b.objective)
        assert a.assignment[0] == -1 and np.isinf(a.assignment_time[0])


def test_zero_time_entry_counts_as_reachable():
    cost = sp.csr_array((np.array([0.0, 40.0]), (np.array([0, 1]), np.array([1, 0]))), shape=(2, 2))
    sol = MCLP.from_cost_matrix(cost, np.array([10.0, 1.0]), 1, fixed=np.array([True, False]), service_radius=T).solve()
    assert sol.objective == 10.0


def test_time_limited_run_is_not_called_optimal_unless_proven():
    # CBC looks at its time limit only after the root node (docs/models.md): a smaller instance for it
    for solver, nd, ns in (("highs", 400, 120), ("cbc", 200, 60)):
        rng = np.random.default_rng(7)
        cost = rng.uniform(0, 100, (nd, ns))
        w = rng.integers(1, 1000, nd).astype(float)
        sol = PMedian.from_cost_matrix(cost, w, 10, fixed=np.zeros(ns, bool)).solve(solver=solver, time_limit=0.5)
        assert sol.status in ("optimal", "time_limit", "feasible", "heuristic")
        assert len(sol.selected) == 10
        if sol.status == "optimal":
            assert sol.gap == 0.0
        elif sol.status == "heuristic":  # stopped before any incumbent: greedy fallback, gap unknown
            assert sol.gap == np.inf
        else:
            assert sol.gap > 0


def test_rank_orders_by_marginal_gain():
    # site 2 saves the most person-minutes, then site 1; site 3 adds nothing beyond them
    cost = np.array([[50, 10, 40, 10], [50, 40, 5, 40], [50, 40, 5, 40]], float)
    w = np.array([1.0, 10.0, 10.0])
    m = PMedian.from_cost_matrix(cost, w, 3, fixed=np.array([True, False, False, False]))
    assert list(m.rank(np.array([1, 2, 3]))) == [2, 1, 3]
    assert list(m.solve().selected[:1]) == [2]


@pytest.mark.parametrize("seed", range(5))
def test_pcenter_exact_beyond_the_matrix_cutoff(seed):
    cost, w, fixed = synthetic_instance(seed, nd=12, ns=7)
    cost[~np.isfinite(cost)] = 200.0  # full matrix: everything reachable
    cutoff = 35.0
    truncated = np.where(cost <= cutoff, cost, np.inf)
    fixed_times = cost[:, fixed].min(axis=1)  # exact times to the fixed office, beyond the cutoff too
    # what the model can know: exact fixed times, new sites only within the cutoff
    best = min(np.minimum(fixed_times, truncated[:, list(S)].min(axis=1)).max() for S in _subsets(fixed, 2))
    sol = PCenter.from_cost_matrix(truncated, w, 2, fixed=fixed, fixed_times=fixed_times).solve()
    assert sol.objective == pytest.approx(best)


def test_mclp_ranks_by_newly_covered_population():
    cost = np.array([[10, np.inf, np.inf], [np.inf, 10, np.inf], [np.inf, np.inf, 10]], float)
    w = np.array([5.0, 50.0, 20.0])
    sol = MCLP.from_cost_matrix(cost, w, 3, service_radius=T).solve()
    assert list(sol.selected) == [1, 2, 0]
