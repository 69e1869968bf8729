"""Relief of overloaded offices and the weighted-criteria model equal brute force on random small
synthetic instances.

The brute force is independent of the formulation: for every set of new sites it assigns each
demand point to its nearest open site by scanning the dense matrix (ties: existing office, then
the lower index), sums the loads per office, and scores coverage within T, relief of today's
offices above the norm and wishes directly.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting.models import SiteConstraints
from siting.models.load import LoadRelief, WeightedCriteria

GROUPS = np.array(["", "g1", "g1", "g2", "", "g3", "", "g2"])


def synthetic_instance(seed: int, n: int = 12, m: int = 8):
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 40, size=(n, m)).astype(float)  # whole minutes: many ties
    t[rng.random((n, m)) < 0.3] = np.inf
    a = rng.integers(0, 30, size=n).astype(float)  # coverage weight
    c = rng.integers(0, 20, size=n).astype(float)  # load (e.g. offences)
    fixed = np.zeros(m, bool)
    fixed[rng.choice(m, 2, replace=False)] = True
    return t, a, c, fixed, rng


def brute_force(t, a, c, fixed, p, norm, labels, lam, T, values, bonus, forbidden=None):
    n, m = t.shape
    fx = [int(j) for j in np.flatnonzero(fixed)]

    def existing_excess(open_sites):
        load = {labels[o]: 0.0 for o in fx}
        for i in range(n):
            opts = [(t[i, j], 0 if fixed[j] else 1, j) for j in open_sites if np.isfinite(t[i, j])]
            if opts and fixed[min(opts)[2]]:
                load[labels[min(opts)[2]]] += c[i]
        return sum(max(0.0, v - norm) for v in load.values())

    today = existing_excess(fx)
    cand = [j for j in range(m) if not fixed[j] and (forbidden is None or not forbidden[j])]
    best = -np.inf
    for plan in itertools.combinations(cand, p):
        open_sites = fx + list(plan)
        cov = sum(a[i] for i in range(n) if any(t[i, j] <= T for j in open_sites))
        wishes = sum(values.get(g, 0.0) for g in set(GROUPS[list(plan)]))
        best = max(best, cov + lam * (today - existing_excess(open_sites)) + wishes + bonus[list(plan)].sum())
    return best


@pytest.mark.parametrize("seed", range(40))
def test_weighted_criteria_equals_brute_force(seed):
    t, a, c, fixed, rng = synthetic_instance(seed)
    m = t.shape[1]
    p = 1 + seed % 3
    labels = np.array([f"site {j}" for j in range(m)], object)
    if seed % 2:
        labels[fixed] = "one office"  # two locations of one office: their loads add up
    values = {"g1": float(rng.integers(0, 20)), "g2": float(rng.integers(0, 20)), "g3": -float(rng.integers(0, 20))}
    bonus = np.where(rng.random(m) < 0.3, rng.integers(0, 10, size=m), 0).astype(float)
    bonus[fixed] = 0
    forbidden = np.zeros(m, bool)
    if seed % 5 == 0:
        forbidden[np.flatnonzero(~fixed)[0]] = True
    lam, T, norm = [0.0, 1.0, 2.5][seed % 3], float(rng.integers(5, 30)), [None, 10.0, 0.0, 30.0][seed % 4]
    if seed % 4 == 0:  # relief alone
        model = LoadRelief(t, c, p, fixed=fixed, norm=norm, office_labels=labels, constraints=SiteConstraints(forbidden=forbidden))
        ref = brute_force(t, np.zeros(len(a)), c, fixed, p, model.norm, model.labels, 1.0, T, {}, np.zeros(m), forbidden)
    else:
        cons = SiteConstraints(wish_bonus=bonus, forbidden=forbidden)
        model = WeightedCriteria(t, a, p, fixed=fixed, constraints=cons, load_weights=c, load_penalty=lam, norm=norm,
                                 office_labels=labels, service_radius=T, wish_groups=GROUPS, wish_values=values)  # fmt: skip
        ref = brute_force(t, a, c, fixed, p, model.norm, model.labels, lam, T, values, bonus, forbidden)
    sol = model.solve()
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(ref, abs=1e-6)
    assert model.evaluate(sol.selected) == pytest.approx(sol.objective)
    if seed % 7 == 0:  # CBC through PuLP gives the same optimum
        assert model.solve(solver="cbc").objective == pytest.approx(ref, abs=1e-6)


def test_default_norm_is_mean_after_and_relief_by_hand():
    """Two existing offices (sites 0, 1), two candidates; load 10, 20, 30, 40 on four points."""
    t = np.array([[1, 9, 5, np.inf],   # point 0: office 0; candidate 2 is farther than office 0
                  [2, 9, 1, np.inf],   # point 1: office 0; candidate 2 is closer
                  [3, 9, 2, 8],        # point 2: office 0; candidate 2 closer
                  [9, 1, np.inf, 4]])  # point 3: office 1 (40); candidate 3 farther  # fmt: skip
    load = np.array([10.0, 20, 30, 40])
    fixed = np.array([True, True, False, False])
    m = LoadRelief(t, load, 1, fixed=fixed)
    assert m.norm == pytest.approx(100 / 3)  # 100 over 2 offices + 1 new
    # today: office 0 carries 60 (26.7 above the norm), office 1 carries 40 (6.7 above)
    # candidate 2 takes points 1 and 2 (50) off office 0: relief min(50, 26.7) = 26.7; candidate 3 takes nothing
    assert m.relief([2]) == pytest.approx(60 - 100 / 3)
    assert m.relief([3]) == 0.0
    sol = m.solve()
    assert list(sol.selected) == [2] and sol.objective == pytest.approx(60 - 100 / 3)


def test_bad_load_arguments():
    from siting.errors import SitingError

    t = np.ones((2, 3))
    with pytest.raises(SitingError, match="load_weights"):
        WeightedCriteria(t, [1.0, 1.0], 1, fixed=[0], load_weights=[1.0, -1.0])
    with pytest.raises(SitingError, match="norm"):
        LoadRelief(t, [1.0, 1.0], 1, fixed=[0], norm=-5)
