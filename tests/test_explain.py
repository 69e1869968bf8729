"""Plan scoring, marginal values, swaps, k-best alternatives and plan efficiency against brute force
on small synthetic instances; the decided plan (evaluate-plan) end to end."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from siting import plans
from siting.explain import alternatives, efficiency
from siting.models import SiteConstraints
from siting.pipeline import Problem, TimeMatrix
from siting.scenario import Scenario

T, CUTOFF = 10.0, 16.0


def synthetic_instance(seed: int, n_demand: int = 40, n_fixed: int = 2, n_cand: int = 7):
    """Synthetic: random points, minutes = distance; stored matrix cut at CUTOFF like the real one."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 40, (n_demand, 2))
    s = rng.uniform(0, 40, (n_fixed + n_cand, 2))
    full = np.hypot(d[:, None, 0] - s[None, :, 0], d[:, None, 1] - s[None, :, 1])
    full[rng.random(full.shape) < 0.05] = np.inf  # a few unreachable pairs
    w = rng.integers(1, 100, n_demand).astype(float)
    fixed = np.r_[np.ones(n_fixed, bool), np.zeros(n_cand, bool)]
    before = full[:, fixed].min(axis=1)
    cost = np.where(full <= CUTOFF, full, np.inf)
    rows, cols = np.nonzero(np.isfinite(cost))
    csr = sp.csr_array((cost[rows, cols], (rows, cols)), shape=cost.shape)
    far = np.flatnonzero(~(before <= CUTOFF))
    data = plans.PlanData(csr, before, far, full[far], w, fixed)
    return data, full, w, fixed


def brute_after(full, fixed, plan):
    return full[:, np.flatnonzero(fixed).tolist() + list(plan)].min(axis=1)


def brute_cov(full, w, fixed, plan):
    return float(w[brute_after(full, fixed, plan) <= T].sum())


def brute_time(full, w, fixed, plan):
    a = brute_after(full, fixed, plan)
    ok = np.isfinite(a)
    return float(np.dot(w[ok], a[ok]))


@pytest.mark.parametrize("seed", range(4))
def test_scores_marginals_and_swaps_match_brute_force(seed):
    data, full, w, fixed = synthetic_instance(seed)
    cand = np.flatnonzero(~fixed)
    allowed = ~fixed
    plan = [int(cand[1]), int(cand[4]), int(cand[5])]
    after, _ = plans.times(data, plan)
    assert np.array_equal(after, brute_after(full, fixed, plan))
    s = plans.score(data, plan, T)
    assert s["pop_within_T"] == pytest.approx(brute_cov(full, w, fixed, plan))
    ok = np.isfinite(after)
    assert s["mean_time"] == pytest.approx(np.dot(w[ok], after[ok]) / w[ok].sum())
    # marginal value = loss when the site alone is removed
    for m in plans.marginal_values(data, plan, T):
        rest = [j for j in plan if j != m["site"]]
        assert m["coverage_loss"] == pytest.approx(brute_cov(full, w, fixed, plan) - brute_cov(full, w, fixed, rest))
    # every single swap by brute force
    swaps = {}
    for j in plan:
        for k in cand:
            if k in plan:
                continue
            new = [x for x in plan if x != j] + [int(k)]
            swaps[(j, int(k))] = (brute_cov(full, w, fixed, new) - brute_cov(full, w, fixed, plan),
                                  brute_time(full, w, fixed, plan) - brute_time(full, w, fixed, new))  # fmt: skip
    for objective, i in (("coverage", 0), ("time", 1)):
        got = plans.best_swaps(data, plan, T, allowed, objective, top=10)
        best_per_add = {}
        for (_, k), g in swaps.items():
            best_per_add[k] = max(best_per_add.get(k, -np.inf), g[i])
        expect = sorted((g for g in best_per_add.values() if g > 1e-6), reverse=True)
        assert [r["gain"] for r in got] == pytest.approx(expect[: len(got)]) and len(got) == min(10, len(expect))
        for r in got:  # each reported swap really has the stated effects
            assert swaps[(r["remove"], r["add"])] == pytest.approx((r["coverage_change"], r["time_saved_pop_min"]))
        # best replacement per site and its regret
        for rep in plans.best_replacement(data, plan, T, allowed, objective):
            best = max(swaps[(rep["site"], k)][i] for k in cand if k not in plan)
            assert -rep["regret"] == pytest.approx(best)


@pytest.mark.parametrize(("seed", "model"), [(0, "mclp"), (1, "mclp"), (2, "pmedian")])
def test_k_best_alternatives_match_brute_force(seed, model):
    data, full, w, fixed = synthetic_instance(seed)
    cand = np.flatnonzero(~fixed)
    p = 2
    sc = Scenario(name="synthetic", new_offices=p, model={"type": model, "threshold_minutes": T})
    tm = TimeMatrix(data.cost.tocsr(), data.before, CUTOFF, 0, 0, "synthetic")
    problem = Problem(w, fixed, SiteConstraints(), np.full(len(w), "x"))
    alt = alternatives(sc, problem, tm, k=6)
    if model == "mclp":
        values = sorted((brute_cov(full, w, fixed, c) for c in itertools.combinations(cand, p)), reverse=True)
    else:  # the model's own objective: unreachable (beyond the cutoff) at its documented penalty
        from siting.models import PMedian

        m = PMedian(tm.cost, w, p, fixed=fixed)
        values = sorted(m.evaluate(list(c)) for c in itertools.combinations(cand, p))
    assert list(alt.objective) == pytest.approx(values[:6])
    assert len({tuple(s) for s in alt.sites}) == len(alt)  # distinct plans
    assert alt.loss_vs_optimum.iloc[0] == 0 and (alt.loss_vs_optimum.diff().dropna() >= -1e-12).all()
    within = alternatives(sc, problem, tm, k=20, within=0.02)
    best = values[0]
    n_within = sum(1 for v in values if (best - v if model == "mclp" else v - best) <= 0.02 * abs(best) + 1e-9)
    assert len(within) == min(n_within, 20)


@pytest.mark.parametrize("seed", range(3))
def test_efficiency_matches_brute_force(seed):
    data, full, w, fixed = synthetic_instance(seed)
    cand = np.flatnonzero(~fixed)
    plan = [int(cand[0]), int(cand[1])]
    problem = Problem(w, fixed, SiteConstraints(), np.full(len(w), "x"))
    eff = efficiency(problem, data, plan, T)
    combos = list(itertools.combinations(cand, 2))
    today_cov, today_time = brute_cov(full, w, fixed, []), brute_time(full, w, fixed, [])
    best_cov = max(brute_cov(full, w, fixed, c) for c in combos)
    best_time = min(brute_time(full, w, fixed, c) for c in combos)
    reach = np.isfinite(data.before)  # mean over reachable people: all reachable from the fixed sites here
    assert reach.all()
    exp_cov = (brute_cov(full, w, fixed, plan) - today_cov) / (best_cov - today_cov)
    exp_time = (today_time - brute_time(full, w, fixed, plan)) / (today_time - best_time)
    assert eff.coverage == pytest.approx(exp_cov) and eff.mean_time == pytest.approx(exp_time)
    assert eff.optimum_coverage["pop_within_T"] == pytest.approx(best_cov)


def test_decided_plan_efficiency_and_swaps(decided):
    """evaluate-plan (5 km cells): efficiency strictly between 0 and 1, five improving swaps, one
    explanation row per office whose newly covered people add up to the plan's gain."""
    out = decided
    e = json.loads((out / "efficiency.json").read_text(encoding="utf-8"))
    met = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert 0 < e["coverage_efficiency"] < 1 and 0 < e["mean_time_efficiency"] < 1
    assert met["efficiency"]["coverage_efficiency"] == e["coverage_efficiency"]
    assert met["efficiency"]["band"] == e["band"] and {s["coverage_optimum"] for s in e["band"]["optimum_status"].values()} == {"optimal"}
    assert e["optimum_status"] == {"coverage": "optimal", "time": "optimal"}
    assert e["plan"]["share_within_T"] == pytest.approx(met["headline"]["share_within_T_after"], abs=1e-12)
    for key, unit in (("top_swaps_coverage", "coverage_change"), ("top_swaps_time", "time_saved_pop_min")):
        swaps = e[key]
        assert len(swaps) == 5 and all(s["gain"] > 0 and s["gain"] == s[unit] for s in swaps)
        assert [s["gain"] for s in swaps] == sorted((s["gain"] for s in swaps), reverse=True)
        assert len({s["add_kommunenummer"] for s in swaps}) == 5  # one per municipality to open in
    ex = pd.read_csv(out / "explain.csv")
    props = pd.read_csv(out / "proposals.csv")
    assert list(ex.site_id) == list(props.site_id) and len(ex) == 20
    assert ex.pop_newly_within_T.sum() == pytest.approx(e["plan"]["pop_within_T"] - e["today"]["pop_within_T"])
    assert (ex.coverage_loss_if_removed >= -1e-6).all() and (ex.n_kommuner_served >= 0).all()


def test_plan_of_every_candidate_is_explained_without_replacements():
    """p = all candidates (issue 22: ran > 400 s nationally): nothing can replace a site, and the
    marginal values still equal brute force."""
    data, full, w, fixed = synthetic_instance(5)
    plan = np.flatnonzero(~fixed).tolist()
    assert all(r["replacement"] == -1 for r in plans.best_replacement(data, plan, T, ~fixed, "coverage"))
    assert plans.best_swaps(data, plan, T, ~fixed, "time") == []
    for m in plans.marginal_values(data, plan, T):
        rest = [j for j in plan if j != m["site"]]
        assert m["coverage_loss"] == pytest.approx(brute_cov(full, w, fixed, plan) - brute_cov(full, w, fixed, rest))
        a, b = brute_after(full, fixed, rest), brute_after(full, fixed, plan)
        fin = np.isfinite(a) & np.isfinite(b)  # a point only the removed site reaches has no time to compare
        assert m["time_loss_pop_min"] == pytest.approx(float(np.dot(w[fin], (a - b)[fin])))
    after, nearest, without = plans._removal(data, plan)
    assert np.array_equal((after, nearest), plans.times(data, plan))


def test_isochrone_of_no_reachable_node_is_empty(tmp_path):
    from siting import traveltime
    from siting.network import build_network

    g = build_network(Path(__file__).parent / "fixtures" / "osm" / "synthetic_ferry.osm", use_cache=False)
    far_away = g.node_xy[:1] + [[0.0, 50_000.0]]  # 50 km off the roads: the access alone takes longer than 1 minute
    assert traveltime.isochrones(g, far_away, 1.0).empty
    assert traveltime.isochrones(g, np.zeros((0, 2)), 30.0).empty


def test_explaining_a_plan_reads_each_column_a_bounded_number_of_times(monkeypatch):
    """Marginal values and replacements come from one pass over the plan's columns, not a rescore
    per site (which made explain at p = all 4 292 candidates run for hours): the column reads grow
    with p, not with p²."""
    from siting.explain import explain_sites

    data, full, w, fixed = synthetic_instance(6, n_demand=200, n_cand=60)
    reads = []
    real = plans.PlanData.column
    monkeypatch.setattr(plans.PlanData, "column", lambda self, j: reads.append(j) or real(self, j))

    class Inputs:  # what explain_sites reads besides the plan data
        sites = pd.DataFrame({"site_id": [f"s{j}" for j in range(len(fixed))], "name": [f"s{j}" for j in range(len(fixed))],
                              "kommune": "k", "politidistrikt": "d"})
        kommuner = pd.DataFrame({"kommunenummer": ["0301"], "name": ["Oslo"]})
        demand = pd.DataFrame({"kommunenummer": ["0301"] * len(w)})

    for plan in (np.flatnonzero(~fixed).tolist(), np.flatnonzero(~fixed)[:30].tolist()):  # every candidate, and half
        reads.clear()
        table = explain_sites(Inputs, data, plan, T, ~fixed)
        assert len(table) == len(plan) and len(reads) <= 6 * len(plan), len(reads)
