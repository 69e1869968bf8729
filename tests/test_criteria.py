"""The criteria ledger and the revealed weights on small synthetic instances, against brute force over
every plan (each criterion alone, lexicographic ties, and the efficiency over a fine simplex grid)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting import criteria
from siting.models import SiteConstraints
from siting.models.base import as_csr, assign_nearest
from siting.models.load import WeightedCriteria, default_norm, office_labels


def synthetic_data(seed: int, n: int = 14, m: int = 8, p: int = 2) -> criteria.CriteriaData:
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 50, size=(n, m)).astype(float)
    t[rng.random((n, m)) < 0.25] = np.inf
    fixed = np.zeros(m, bool)
    fixed[[0, 1]] = True
    t[:, 0] = np.minimum(t[:, 0], 45)  # every point reaches an existing office
    cost = as_csr(t)
    _, before = assign_nearest(cost, np.flatnonzero(fixed))
    pop = rng.integers(1, 100, size=n).astype(float)
    off = rng.integers(0, 20, size=n).astype(float)
    small = np.where(rng.random(n) < 0.4, pop, 0.0)
    labels = office_labels(fixed)
    kom = np.array(["k0", "k1", "k2", "k2", "k3", "k4", "k5", "k6"])
    return criteria.CriteriaData(cost, before, fixed, 20.0, p, pop, off, small, off, labels, default_norm(off, fixed, labels, p),
                                 kom, asked={"k2", "k5"}, declined={"k4"}, constraints=SiteConstraints(),
                                 names=[f"s{j}" for j in range(m)])  # fmt: skip


def all_plans(d):
    cand = [j for j in range(len(d.fixed)) if not d.fixed[j]]
    return [list(s) for s in itertools.combinations(cand, d.p)]


@pytest.mark.parametrize("seed", range(6))
def test_alone_equals_brute_force_with_population_ties(seed):
    d = synthetic_data(seed)
    plans = all_plans(d)
    f = np.array([criteria.criterion_values(criteria.plan_values(d, s)) for s in plans])
    best = criteria.alone(d)
    for q, k in enumerate(criteria.CRITERIA):
        got = criteria.criterion_values(best[k][1])
        assert got[q] == pytest.approx(f[:, q].max(), abs=1e-6), k
        if k != "population":  # among the plans that tie, the most people within T
            ties = np.abs(f[:, q] - f[:, q].max()) <= 1e-6
            assert got[0] == pytest.approx(f[ties, 0].max()), k


@pytest.mark.parametrize("seed", range(4))
def test_revealed_weights_against_a_fine_grid(seed):
    d = synthetic_data(seed)
    plans = all_plans(d)
    best = criteria.alone(d)
    f0 = criteria.criterion_values(criteria.plan_values(d, []))
    fb = np.array([criteria.criterion_values(best[k][1])[q] for q, k in enumerate(criteria.CRITERIA)])
    free = fb - f0 > 1e-9
    scale = np.where(free, fb - f0, 1.0)
    G = np.array([np.where(free, (criteria.criterion_values(criteria.plan_values(d, s)) - f0) / scale, 0) for s in plans])
    plan = plans[(seed * 5) % len(plans)]
    gP = np.where(free, (criteria.criterion_values(criteria.plan_values(d, plan)) - f0) / scale, 0)
    r = criteria.revealed(d, plan, best)
    w = np.array([r.weights[k] for k in criteria.CRITERIA])
    assert w.sum() == pytest.approx(1) and (w >= 0).all()
    assert r.efficiency == pytest.approx(gP @ w / (G @ w).max(), abs=1e-6)  # a true efficiency, from every plan
    assert r.proven and r.efficiency_population_only == pytest.approx(gP[0])
    # no weights on a fine grid do better (brute force over every plan)
    steps = 20
    best_grid = -np.inf
    for c in itertools.product(range(steps + 1), repeat=4):
        if sum(c) <= steps:
            x = np.array([*c, steps - sum(c)], float) / steps * free
            if x.sum() and (G @ x).max() > 0:
                best_grid = max(best_grid, gP @ x / (G @ x).max())
    assert r.efficiency >= best_grid - 1e-9
    # the ranges within one point hold the best weights
    for q, k in enumerate(criteria.CRITERIA):
        lo, hi = r.within_one_point[k]
        assert lo - 1e-6 <= w[q] <= hi + 1e-6


def test_ledger_rows(tmp_path):
    d = synthetic_data(1)
    best = criteria.alone(d)
    df = criteria.ledger(d, best["population"][0].selected, "optimal", best)
    assert list(df.row) == ["today", *criteria.CRITERIA, "all together (scenario)"]
    pop = df.set_index("row")
    assert pop.loc["population", "people_given_up"] == 0 and (df.people_given_up.dropna() >= -1e-9).all()
    assert pop.loc["population", "sites_shared_with_population"] == d.p
    assert pop.loc["wishes", "wishes_granted"] >= pop.loc["today", "wishes_granted"]


def test_tie_weights_keep_the_optimum():
    d = synthetic_data(2)
    m = WeightedCriteria(d.cost, np.zeros(len(d.population)), 2, fixed=d.fixed, service_radius=d.T, load_weights=d.load,
                         office_labels=d.labels, tie_weights=d.population)  # fmt: skip
    sol = m.solve()
    plans = all_plans(d)
    relief = np.array([m.relief(s) for s in plans])
    cov = np.array([float(d.population[(d.after(s) <= d.T)].sum()) for s in plans])
    assert m.relief(sol.selected) == pytest.approx(relief.max())
    assert sol.stats["tie_break"] == pytest.approx(cov[np.abs(relief - relief.max()) <= 1e-6].max())
