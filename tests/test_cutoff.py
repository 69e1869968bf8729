"""A drive-time cutoff never silently changes the answer (issue 15 A6): the solution and the manifest
say how many demand points are beyond the cutoff and whether the cutoff could have changed the optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting import pipeline
from siting.models import PCenter, PMedian, SiteConstraints
from siting.scenario import Scenario


def test_cutoff_below_an_optimal_assignment_is_reported_and_does_not_mislead():
    # true times: site A reaches both points in 9 and 9.5 min; site B reaches point 0 in 0 and point 1 in 11 min
    full = np.array([[9.0, 0.0], [9.5, 11.0]])
    cut = np.where(full <= 10, full, np.inf)  # a 10-min cutoff hides B → point 1
    w = np.ones(2)
    sol = PMedian.from_cost_matrix(cut, w, 1, cutoff_minutes=10.0).solve()
    assert list(sol.selected) == [1]  # B: truly optimal (11 < 18.5); the old 2 × max penalty picked A
    assert sol.stats["beyond_cutoff_points"] == 1 and sol.stats["beyond_cutoff_population"] == 1.0
    assert sol.stats["cutoff_may_change_optimum"] is True
    assert sol.objective == pytest.approx(10.0) and sol.objective <= (w * full[:, 1]).sum()  # a lower limit


@pytest.mark.parametrize("seed", range(10))
def test_cutoff_verdict_against_the_uncut_optimum(seed):
    rng = np.random.default_rng(seed)
    full = rng.uniform(1, 60, (14, 7)).round(1)
    w = rng.integers(1, 50, 14).astype(float)
    fixed = np.zeros(7, bool)
    fixed[0] = True
    cutoff = float(rng.choice([25.0, 40.0, 60.0]))
    cut = np.where(full <= cutoff, full, np.inf)
    sol = PMedian.from_cost_matrix(cut, w, 2, fixed=fixed, cutoff_minutes=cutoff).solve()
    times = full[:, [0, *sol.selected]].min(axis=1)
    assert sol.stats["beyond_cutoff_points"] == int((times > cutoff).sum())
    best = min((w * full[:, [0, *S]].min(axis=1)).sum() for S in itertools.combinations(range(1, 7), 2))
    assert sol.bound <= best + 1e-6  # the bound stays a bound of the uncut problem
    if not sol.stats["cutoff_may_change_optimum"]:
        assert (w * times).sum() == pytest.approx(best)  # certified: the uncut optimum
        assert sol.objective == pytest.approx(best)


def test_pcenter_cutoff_verdict():
    full = np.array([[5.0, 50.0], [50.0, 5.0], [20.0, 30.0]])
    cut = np.where(full <= 25, full, np.inf)
    sol = PCenter.from_cost_matrix(cut, np.ones(3), 1, fixed=[0], cutoff_minutes=25.0).solve()
    assert sol.objective == 20.0 and sol.stats["cutoff_may_change_optimum"] is False
    sol = PCenter.from_cost_matrix(np.where(full <= 10, full, np.inf), np.ones(3), 1, fixed=[0], cutoff_minutes=10.0,
                                   fixed_times=full[:, 0]).solve()  # fmt: skip
    assert sol.stats["cutoff_may_change_optimum"] is True and sol.stats["beyond_cutoff_points"] == 1


def test_solve_stage_reports_the_cutoff():
    full = np.array([[9.0, 0.0, 30.0], [9.5, 11.0, 30.0]])
    cut = np.where(full <= 10, full, np.inf)
    import scipy.sparse as sp

    rows, cols = np.nonzero(np.isfinite(cut))
    tm = pipeline.TimeMatrix(sp.csr_array((cut[rows, cols], (rows, cols)), shape=cut.shape), full[:, 2], 10.0, 0, 0, "k")
    problem = pipeline.Problem(np.ones(2), np.array([False, False, True]), SiteConstraints(), np.array(["a", "a"]))
    sc = Scenario(name="cut", new_offices=1, model={"type": "pmedian"}, network={"cutoff_minutes": 10.0})
    sol = pipeline.solve_model(sc, problem, tm)
    assert list(sol.selected) == [1] and sol.stats["cutoff_minutes"] == 10.0
    assert sol.stats["beyond_cutoff_points"] == 1 and sol.stats["cutoff_may_change_optimum"] is True


def test_coverage_threshold_beyond_the_cutoff_is_a_scenario_error():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="cutoff_minutes"):
        Scenario(name="x", model={"type": "mclp", "threshold_minutes": 60}, network={"cutoff_minutes": 45})
