"""Capacitated p-median and coverage equal brute force on random small synthetic instances.

The brute force is independent of the models' formulation: for every set of new sites it solves
the allocation over *all* open sites (fixed ones uncapacitated, no pruning) with scipy's linprog
(split demand) or by enumerating every whole allocation (unsplit demand).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from siting.models import SiteConstraints
from siting.models.capacitated import CapacitatedMCLP, CapacitatedPMedian

PENALTY = 500.0


def synthetic_instance(seed: int, n: int = 7, m: int = 6, sparse_share: float = 0.25):
    rng = np.random.default_rng(seed)
    t = rng.uniform(1, 60, size=(n, m)).round(1)
    t[rng.random((n, m)) < sparse_share] = np.inf  # unreachable pairs
    w = rng.integers(1, 40, size=n).astype(float)
    c = rng.integers(0, 30, size=n).astype(float)  # a second measure (e.g. offences), zeros allowed
    fixed = np.zeros(m, bool)
    fixed[rng.choice(m, size=1)] = True
    return t, w, c, fixed


def _alloc_lp(t, w, c, open_sites, new, cap, radius=None):
    """Best allocation for one set of open sites (linprog); returns the objective."""
    n = len(w)
    pairs = [(i, j) for i in range(n) for j in open_sites if np.isfinite(t[i, j]) and (radius is None or t[i, j] <= radius)]
    if radius is None:  # p-median: every point assigned (dummy column = unreachable penalty)
        pairs += [(i, -1) for i in range(n)]
        cost = np.array([w[i] * (t[i, j] if j >= 0 else PENALTY) for i, j in pairs])
        a_eq = np.zeros((n, len(pairs)))
        for k, (i, _) in enumerate(pairs):
            a_eq[i, k] = 1
        b_eq, a_row, b_row = np.ones(n), None, None
    else:  # coverage: maximise covered weight, each point at most once
        cost = -np.array([w[i] for i, _ in pairs]) if pairs else np.zeros(0)
        a_row = np.zeros((n, len(pairs)))
        for k, (i, _) in enumerate(pairs):
            a_row[i, k] = 1
        b_row, a_eq, b_eq = np.ones(n), None, None
    caps = []
    for j in new:
        caps.append([c[i] if jj == j else 0.0 for i, jj in pairs])
    a_ub = np.vstack([x for x in (a_row, np.array(caps) if caps else None) if x is not None]) if (a_row is not None or caps) else None
    b_ub = np.r_[b_row if b_row is not None else [], [cap] * len(caps)] if a_ub is not None else None
    if not pairs:
        return 0.0
    r = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, 1), method="highs")
    assert r.status == 0
    return r.fun if radius is None else -r.fun


def _alloc_whole(t, w, c, open_sites, new, cap, radius=None):
    """Best whole allocation by enumeration (each point to one open site, or none)."""
    n = len(w)
    choices = [*open_sites, -1]
    best = np.inf if radius is None else -np.inf
    for combo in itertools.product(choices, repeat=n):
        ok = all(sum(c[i] for i in range(n) if combo[i] == j) <= cap + 1e-9 for j in new)
        if not ok:
            continue
        if radius is None:
            val = sum(w[i] * (t[i, j] if j >= 0 and np.isfinite(t[i, j]) else PENALTY) for i, j in enumerate(combo))
            if any(j >= 0 and not np.isfinite(t[i, j]) for i, j in enumerate(combo)):
                continue
            best = min(best, val)
        else:
            if any(j >= 0 and not (t[i, j] <= radius) for i, j in enumerate(combo)):
                continue
            best = max(best, sum(w[i] for i, j in enumerate(combo) if j >= 0))
    return best


def brute_force(t, w, c, fixed, p, cap, radius=None, split=True, forbidden=None):
    cand = [j for j in range(t.shape[1]) if not fixed[j] and not (forbidden is not None and forbidden[j])]
    alloc = _alloc_lp if split else _alloc_whole
    values = []
    for new in itertools.combinations(cand, p):
        open_sites = [*np.flatnonzero(fixed), *new]
        values.append(alloc(t, w, c, open_sites, list(new), cap, radius))
    return min(values) if radius is None else max(values)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("split", [True, False])
def test_capacitated_pmedian_equals_brute_force(seed, split):
    t, w, c, fixed = synthetic_instance(seed, n=6 if not split else 8)
    cap = float(np.random.default_rng(100 + seed).uniform(15, 60))
    m = CapacitatedPMedian.from_cost_matrix(t, w, 2, fixed=fixed, capacity=cap, capacity_weights=c,
                                            split_demand=split, unreachable_minutes=PENALTY)  # fmt: skip
    sol = m.solve()
    assert sol.status == "optimal"
    expected = brute_force(t, w, c, fixed, 2, cap, split=split)
    assert sol.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert m.evaluate(sol.selected) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    loads = sol.stats["load_per_new_site"]
    assert all(v <= cap + 1e-3 for v in loads.values())  # loads are rounded to 3 decimals


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("split", [True, False])
def test_capacitated_mclp_equals_brute_force(seed, split):
    t, w, c, fixed = synthetic_instance(seed, n=6 if not split else 8)
    cap = float(np.random.default_rng(200 + seed).uniform(10, 50))
    forbidden = np.zeros(t.shape[1], bool)
    forbidden[(seed % (t.shape[1] - 1)) + 1] = not fixed[(seed % (t.shape[1] - 1)) + 1]
    m = CapacitatedMCLP.from_cost_matrix(t, w, 2, fixed=fixed, constraints=SiteConstraints(forbidden=forbidden),
                                         capacity=cap, capacity_weights=c, split_demand=split, service_radius=30)  # fmt: skip
    sol = m.solve()
    assert sol.status == "optimal"
    assert not forbidden[sol.selected].any()
    expected = brute_force(t, w, c, fixed, 2, cap, radius=30, split=split, forbidden=forbidden)
    assert sol.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_large_capacity_equals_uncapacitated():
    from siting.models import MCLP, PMedian

    t, w, _, fixed = synthetic_instance(3, n=10, m=7)
    big = float(w.sum()) + 1
    a = CapacitatedPMedian.from_cost_matrix(t, w, 2, fixed=fixed, capacity=big, unreachable_minutes=PENALTY).solve()
    b = PMedian.from_cost_matrix(t, w, 2, fixed=fixed, unreachable_minutes=PENALTY).solve()
    assert a.objective == pytest.approx(b.objective)
    a = CapacitatedMCLP.from_cost_matrix(t, w, 2, fixed=fixed, capacity=big, service_radius=30).solve()
    b = MCLP.from_cost_matrix(t, w, 2, fixed=fixed, service_radius=30).solve()
    assert a.objective == pytest.approx(b.objective)


def test_capacity_must_be_positive():
    from siting.errors import SitingError

    t, w, _, fixed = synthetic_instance(0)
    with pytest.raises(SitingError, match="capacity must be a positive number"):
        CapacitatedMCLP.from_cost_matrix(t, w, 1, fixed=fixed, capacity=0).solve()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("same_ratio", [True, False])
def test_merged_allocation_rows_equal_brute_force(seed, same_ratio):
    """Demand points with identical times are merged (split demand) only when their capacity weight
    per unit of weight is the same; either way the optimum equals brute force."""
    t0, w0, _, fixed = synthetic_instance(seed, n=4)
    t = np.repeat(t0, 2, axis=0)  # every point twice, with its own weight
    rng = np.random.default_rng(300 + seed)
    w = rng.integers(1, 40, size=len(t)).astype(float)
    c = 1.5 * w if same_ratio else rng.integers(1, 30, size=len(t)).astype(float)
    cap = float(rng.uniform(15, 50))
    for cls, radius in ((CapacitatedPMedian, None), (CapacitatedMCLP, 30)):
        kw = {"unreachable_minutes": PENALTY} if radius is None else {"service_radius": radius}
        m = cls.from_cost_matrix(t, w, 2, fixed=fixed, capacity=cap, capacity_weights=c, **kw)
        sol = m.solve()
        assert sol.status == "optimal"
        assert sol.objective == pytest.approx(brute_force(t, w, c, fixed, 2, cap, radius=radius), rel=1e-6, abs=1e-6)
        if same_ratio:
            assert sol.stats["allocation_rows"] <= len(t) // 2
