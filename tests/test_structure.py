"""Structure scenarios (existing.mode greenfield / relocate): the exact models equal brute force on
small synthetic instances, starting from short rows that the models must extend themselves; office
values (closure loss, best replacement) equal brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting import plans
from siting.models import SiteConstraints
from siting.models.benders import solve_benders
from siting.models.sparse_rows import CappedRows, greedy, interchange
from siting.pipeline import Problem, TimeMatrix
from siting.pipeline.structure import row_bound, solve_structure
from siting.scenario import Scenario
from siting.structure import office_values

T = 25.0


def synthetic(seed: int, n_demand: int = 36, n_existing: int = 4, n_cand: int = 6, unreachable: float = 0.04, side: float = 100.0):
    """Synthetic: random points on a side × side square, minutes = distance (the structure rows, to
    2 × today + 10 min, hold 60–70 % of the pairs), a few unreachable pairs; the first
    ``n_existing`` sites are "today's offices"."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, side, (n_demand, 2))
    s = rng.uniform(0, side, (n_existing + n_cand, 2))
    full = np.hypot(d[:, None, 0] - s[None, :, 0], d[:, None, 1] - s[None, :, 1])
    full[rng.random(full.shape) < unreachable] = np.inf
    full[:, 0] = np.where(np.isinf(full[:, 0]), 55.0, full[:, 0])  # every point reaches some office
    w = rng.integers(1, 100, n_demand).astype(float)
    existing = np.arange(n_existing + n_cand) < n_existing
    return full, w, existing


def rows_of(full: np.ndarray, bound: np.ndarray) -> sp.csr_array:
    """The sparse rows of ``full`` up to ``bound`` minutes per point (stored = reachable)."""
    ok = np.isfinite(full) & (full <= bound[:, None])
    r, c = np.nonzero(ok)
    return sp.csr_array((full[r, c], (r, c)), shape=full.shape)


def source(full):
    def rows_for(points, minutes):
        return rows_of(full[np.asarray(points, int)], np.asarray(minutes, float))

    return rows_for


def brute_times(full, plan):
    return full[:, list(plan)].min(axis=1)


def feasible_plans(m, size, existing=None, max_closed=None):
    for c in itertools.combinations(range(m), size):
        if max_closed is not None and int(existing[list(c)].sum()) < int(existing.sum()) - max_closed:
            continue
        yield c


def structure_case(full, w, existing, sc):
    before = full[:, existing].min(axis=1)
    tm = TimeMatrix(rows_of(full, row_bound(before, 0.0, 90.0) if sc.model.type == "pmedian" else
                            row_bound(before, float(sc.model.threshold_minutes), 90.0)),
                    before, 90.0, 0, 0, "synthetic", floor=0.0 if sc.model.type == "pmedian" else float(sc.model.threshold_minutes),
                    structure=True)  # fmt: skip
    problem = Problem(w, np.zeros(len(existing), bool), SiteConstraints(), np.full(len(w), "x"), existing=existing)
    return solve_structure(sc, problem, tm, source(full))


@pytest.mark.parametrize(("seed", "size"), [(0, 3), (1, 4), (2, 5), (3, 2), (4, 4)])
def test_greenfield_pmedian_equals_brute_force(seed, size):
    full, w, existing = synthetic(seed)
    sc = Scenario(name="synthetic", new_offices=0, existing={"mode": "greenfield", "offices": size}, model={"type": "pmedian"})
    sol = structure_case(full, w, existing, sc)
    best = min(float(np.dot(w, brute_times(full, c))) for c in feasible_plans(full.shape[1], size))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(best) and sol.bound == pytest.approx(best)
    assert float(np.dot(w, brute_times(full, sol.open_sites))) == pytest.approx(best)  # the plan's true cost
    assert len(sol.open_sites) == size


@pytest.mark.parametrize(("seed", "k", "p"), [(0, 1, 0), (1, 2, 1), (2, 1, 2), (5, 3, 0)])
def test_relocate_pmedian_equals_brute_force(seed, k, p):
    full, w, existing = synthetic(seed)
    sc = Scenario(name="synthetic", new_offices=p, existing={"mode": "relocate", "max_closed": k}, model={"type": "pmedian"})
    sol = structure_case(full, w, existing, sc)
    size = int(existing.sum()) + p
    best = min(float(np.dot(w, brute_times(full, c))) for c in feasible_plans(full.shape[1], size, existing, k))
    assert sol.status == "optimal" and sol.objective == pytest.approx(best)
    assert int(existing.sum()) - int(existing[sol.open_sites].sum()) <= k and len(sol.open_sites) == size


@pytest.mark.parametrize(("seed", "mode"), [(0, "greenfield"), (1, "greenfield"), (2, "relocate"), (3, "relocate")])
def test_structure_mclp_equals_brute_force(seed, mode):
    full, w, existing = synthetic(seed)
    ex = {"mode": mode, "offices": 3} if mode == "greenfield" else {"mode": mode, "max_closed": 2}
    sc = Scenario(name="synthetic", new_offices=0, existing=ex, model={"type": "mclp", "threshold_minutes": T})
    sol = structure_case(full, w, existing, sc)
    size = 3 if mode == "greenfield" else int(existing.sum())
    best = max(float(w[brute_times(full, c) <= T].sum())
               for c in feasible_plans(full.shape[1], size, existing, None if mode == "greenfield" else 2))  # fmt: skip
    assert sol.status == "optimal" and sol.objective == pytest.approx(best)


@pytest.mark.parametrize(("seed", "size"), [(0, 3), (1, 2), (2, 4), (6, 3)])
def test_structure_pcenter_equals_brute_force(seed, size):
    full, w, existing = synthetic(seed, unreachable=0.0)
    sc = Scenario(name="synthetic", new_offices=0, existing={"mode": "greenfield", "offices": size},
                  model={"type": "pcenter", "threshold_minutes": T})  # fmt: skip
    sol = structure_case(full, w, existing, sc)
    best = min(float(brute_times(full, c).max()) for c in feasible_plans(full.shape[1], size))
    assert sol.status == "optimal" and sol.objective == pytest.approx(best)
    assert float(brute_times(full, sol.open_sites).max()) == pytest.approx(best) and len(sol.open_sites) == size


@pytest.mark.parametrize(("seed", "mode"), [(0, "greenfield"), (2, "relocate"), (6, "relocate")])
def test_structure_pcenter_one_active_point_a_round(seed, mode, monkeypatch):
    """Constraint generation adding one point a round (the farthest from the cover) and, for
    relocate, the cover under the "keep today's offices" bound: still the brute-force optimum."""
    import siting.pipeline.structure as structure

    monkeypatch.setattr(structure, "ACTIVE_BATCH", 1)
    full, w, existing = synthetic(seed, unreachable=0.0)
    ex = {"mode": mode, "offices": 3} if mode == "greenfield" else {"mode": mode, "max_closed": 1}
    sc = Scenario(name="synthetic", new_offices=0 if mode == "greenfield" else 1, existing=ex,
                  model={"type": "pcenter", "threshold_minutes": T})  # fmt: skip
    sol = structure_case(full, w, existing, sc)
    size = 3 if mode == "greenfield" else int(existing.sum()) + 1
    plans = feasible_plans(full.shape[1], size, existing, None if mode == "greenfield" else 1)
    best = min(float(brute_times(full, c).max()) for c in plans)
    assert sol.status == "optimal" and sol.objective == pytest.approx(best)
    assert float(brute_times(full, sol.open_sites).max()) == pytest.approx(best) and len(sol.open_sites) == size
    if mode == "relocate":
        assert int(existing.sum()) - int(existing[sol.open_sites].sum()) <= 1


def test_benders_extends_only_the_rows_it_needs():
    """Synthetic: start from rows of 1 minute (almost empty): the rows grow to what the optimum needs,
    the answer is the brute-force optimum, and far fewer pairs than points × sites are stored."""
    full, w, existing = synthetic(7, n_demand=60, n_cand=10, unreachable=0.0)
    rows = CappedRows(rows_of(full, np.full(len(w), 1.0)), w, np.full(len(w), 1.0))

    def extend(r, pts, minutes):
        return r.extended(pts, rows_of(full[pts], np.asarray(minutes)), minutes)

    for _ in range(10):  # a start that is exact on its rows
        plan = interchange(rows, greedy(rows, 4))[0]
        out = rows.uncapped(plan)
        if not len(out):
            break
        rows = extend(rows, out, 2 * rows.cap_of()[out] + 5)
    res = solve_benders(rows, 4, plan, extend=extend)
    best = min(float(np.dot(w, brute_times(full, c))) for c in feasible_plans(full.shape[1], 4))
    assert res.status == "optimal" and res.objective == pytest.approx(best) and res.bound == pytest.approx(best)
    assert res.rows.nnz < 0.8 * full.size


def test_interchange_keeps_the_group_minimum():
    full, w, existing = synthetic(8)
    rows = CappedRows(rows_of(full, np.full(len(w), 100.0)), w, np.full(len(w), 100.0))
    start = [int(j) for j in np.flatnonzero(existing)]
    plan, cost = interchange(rows, start, group=(existing, 3))
    assert int(existing[plan].sum()) >= 3 and len(plan) == len(start)
    assert cost == pytest.approx(float(np.dot(w, brute_times(full, plan))))


@pytest.mark.parametrize("seed", range(3))
def test_office_values_equal_brute_force(seed):
    full, w, existing = synthetic(seed, unreachable=0.0)
    offices = np.flatnonzero(existing)
    second = np.sort(full[:, offices], axis=1)[:, 1]
    data = plans.PlanData(rows_of(full, second + 1e-9), np.full(len(w), np.inf), np.array([], int), sp.csr_array((0, full.shape[1])),
                          w, np.zeros(full.shape[1], bool))  # fmt: skip
    allowed = np.ones(full.shape[1], bool)
    vals = office_values(data, offices, T, allowed).set_index("site")
    today = brute_times(full, offices)
    for j in offices:
        rest = [k for k in offices if k != j]
        t = brute_times(full, rest)
        assert vals.loc[j, "pop_beyond_T_if_closed"] == pytest.approx(float(w[(today <= T) & (t > T)].sum()))
        assert vals.loc[j, "time_loss_if_closed_pop_min"] == pytest.approx(float(np.dot(w, t - today)))
        swaps = {k: float(np.dot(w, brute_times(full, rest + [k]) - today)) for k in range(full.shape[1]) if k not in offices}
        k_best = min(swaps, key=lambda k: (swaps[k], k))
        assert vals.loc[j, "replacement_change_pop_min"] == pytest.approx(swaps[k_best])


@pytest.mark.parametrize(("seed", "size"), [(0, 3), (1, 4)])
def test_points_on_one_road_node_merge_exactly(seed, size):
    """Synthetic: 60 points on 15 road nodes, times = own access minutes + the node's time; the
    structure p-median merges each node's points into one and still equals brute force, with each
    point's own time in the assignment."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    node_xy, site_xy = rng.uniform(0, 100, (15, 2)), rng.uniform(0, 100, (10, 2))
    tau = np.hypot(node_xy[:, None, 0] - site_xy[None, :, 0], node_xy[:, None, 1] - site_xy[None, :, 1])
    node = rng.integers(0, 15, 60)
    access = rng.uniform(0, 3, 60)
    full = access[:, None] + tau[node]
    w = rng.integers(1, 100, 60).astype(float)
    existing = np.arange(10) < 4
    rows_for = source(full)
    rows_for.snap = lambda: SimpleNamespace(node=node, access_minutes=access)
    before = full[:, existing].min(axis=1)
    tm = TimeMatrix(rows_of(full, row_bound(before, 0.0, 90.0)), before, 90.0, 0, 0, "synthetic", structure=True)
    problem = Problem(w, np.zeros(10, bool), SiteConstraints(), np.full(60, "x"), existing=existing)
    sc = Scenario(name="synthetic", new_offices=0, existing={"mode": "greenfield", "offices": size}, model={"type": "pmedian"})
    sol = solve_structure(sc, problem, tm, rows_for)
    best = min(float(np.dot(w, brute_times(full, c))) for c in feasible_plans(10, size))
    assert sol.status == "optimal" and sol.objective == pytest.approx(best)
    assert sol.stats["demand_points_merged"] == 60 - len(np.unique(node))
    assert np.allclose(sol.assignment_time, brute_times(full, sol.open_sites))
