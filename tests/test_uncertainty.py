"""Uncertainty bands (issue 25 §3): scaling every drive minute by f equals a rebuilt network whose
every speed is divided by f — figures, plan times and coverage optima — on a synthetic road network;
the band's order on run folders; the band's text and the "within the drive-time uncertainty" verdict."""

from __future__ import annotations

import math
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from siting import plans
from siting.explain import efficiency, efficiency_band
from siting.models import SiteConstraints
from siting.network import NetworkSpec
from siting.network.kartverket import build_kartverket_graph
from siting.pipeline import FarRows, Network, Problem, after_times, drive_time_matrix
from siting.uncertainty import (
    ASSUMPTIONS,
    Assumption,
    band,
    headline_band,
    headline_figures,
    within_uncertainty,
)

T = 12.0


def synthetic_road_links(tmp_path, seed: int = 0):
    """SYNTHETIC Kartverket-like road links: a 6 × 6 grid (2 km, jittered, mixed road categories)
    and one car ferry to an island road."""
    rng = np.random.default_rng(seed)
    xy = {(i, j): (100_000 + 2000 * i + rng.uniform(-300, 300), 6_600_000 + 2000 * j + rng.uniform(-300, 300))
          for i in range(6) for j in range(6)}  # fmt: skip
    lines, cats = [], []
    for (i, j), p in xy.items():
        for q in ((i + 1, j), (i, j + 1)):
            if q in xy:
                mid = ((p[0] + xy[q][0]) / 2 + rng.uniform(-200, 200), (p[1] + xy[q][1]) / 2 + rng.uniform(-200, 200))
                lines.append(LineString([p, mid, xy[q]]))
                cats.append(rng.choice(["E", "R", "F", "K"]))
    island = [(xy[5, 5][0] + 4000, xy[5, 5][1] + 3000), (xy[5, 5][0] + 7000, xy[5, 5][1] + 3500)]
    lines += [LineString([xy[5, 5], island[0]]), LineString(island)]
    cats += ["F", "K"]
    g = gpd.GeoDataFrame({"typeVeg": ["enkelBilveg"] * (len(lines) - 2) + ["bilferje", "enkelBilveg"], "vegkategori": cats,
                          "motorvegtype": [None] * len(lines)}, geometry=lines, crs=25833)  # fmt: skip
    g.loc[3, "motorvegtype"] = "motorveg"
    path = tmp_path / "synthetic_veglenke.gpkg"
    g.to_file(path, layer="Veglenke", driver="GPKG")
    return path


def scaled_spec(f: float) -> NetworkSpec:
    """Every minute × f: roads, off-road access and ferries all 1/f as fast, the ferry wait × f."""
    s = NetworkSpec()
    return NetworkSpec(speed_factor=1 / f, access_speed_kmh=s.access_speed_kmh / f, ferry_speed_kmh=s.ferry_speed_kmh / f,
                       ferry_wait_minutes=s.ferry_wait_minutes * f)  # fmt: skip


def _build(path, spec, name):
    return Network(build_kartverket_graph(path, spec), name, name)


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bands")
    path = synthetic_road_links(tmp)
    rng = np.random.default_rng(1)
    pts = lambda n: gpd.GeoSeries([Point(100_000 + x, 6_600_000 + y) for x, y in rng.uniform(-500, 13_000, (n, 2))], crs=25833)  # noqa: E731
    demand = gpd.GeoDataFrame({"population": rng.integers(1, 500, 120).astype(float)}, geometry=pts(120), crs=25833)
    demand = demand.assign(offences=rng.uniform(0, 50, 120))
    sites = gpd.GeoDataFrame(geometry=pts(14), crs=25833)
    fixed = np.r_[np.ones(3, bool), np.zeros(11, bool)]
    inputs = SimpleNamespace(demand=demand, sites=sites, fixed=fixed, weights=demand.population.to_numpy(float))
    base = _build(path, NetworkSpec(), "synthetic-base")
    return path, inputs, base


def _plan_data(network, inputs):
    tm = drive_time_matrix(network, inputs, cutoff=1000.0, use_disk=False)
    assert np.isfinite(tm.before).all() and (tm.before <= tm.cutoff).all()  # no far rows on this network
    far = FarRows(np.array([], int), np.zeros((0, len(inputs.fixed))))
    return tm, plans.PlanData(tm.cost, tm.before, far.rows, far.cost, inputs.weights, inputs.fixed, inputs.demand.offences.to_numpy())


@pytest.mark.parametrize("f", [a.factor for a in ASSUMPTIONS] + [1.5])
def test_scaling_every_minute_equals_a_rebuilt_network(instance, f):
    """The band's shortcut (the run's times × f, radius T / f on the run's matrix) against a network
    rebuilt with every speed / f: the same times, the same people and offences within T, the same
    means, the same coverage optimum and plan efficiency."""
    path, inputs, base = instance
    rebuilt = _build(path, scaled_spec(f), f"synthetic-{f}")
    tm1, d1 = _plan_data(base, inputs)
    tm2, d2 = _plan_data(rebuilt, inputs)
    np.testing.assert_allclose(tm2.before, f * tm1.before, rtol=1e-12)
    # the rows cut at each point's nearest existing office keep their sites: the same pairs, times × f
    assert np.array_equal(tm1.cost.indptr, tm2.cost.indptr) and np.array_equal(tm1.cost.indices, tm2.cost.indices)
    np.testing.assert_allclose(tm2.cost.data, f * tm1.cost.data, rtol=1e-12)
    plan = [5, 8, 11]
    open_sites = np.r_[np.flatnonzero(inputs.fixed), plan]
    a1, _ = plans.times(d1, plan)
    a2, _ = after_times(rebuilt, inputs, open_sites)  # the metrics stage's own search on the rebuilt network
    np.testing.assert_allclose(a2, f * a1, rtol=1e-12)
    w, off = inputs.weights, inputs.demand.offences.to_numpy()
    got = headline_band(w, tm1.before, a1, T, off, at={"f": (tm1.before * f, a1 * f)})
    want = headline_figures(w, tm2.before, a2, T, off)
    for key in ("people_within_T_before", "people_within_T_after", "offences_within_T_after", "share_within_T_after"):
        assert got[key]["f"] == want[key], key  # exact: the same points fall within T
    for key in ("mean_time_before", "mean_time_after", "p90_after"):
        assert got[key]["f"] == pytest.approx(want[key], rel=1e-12), key
    assert 0 < want["people_within_T_after"] < w.sum()  # T cuts through the instance
    # plan efficiency: the coverage optimum at radius T / f on the run's matrix = the optimum at T rebuilt
    problem = Problem(w, inputs.fixed, SiteConstraints(), np.full(len(w), "x"))
    e1 = efficiency(problem, d1, plan, T)
    e2 = efficiency(problem, d2, plan, T)
    b = efficiency_band(problem, d1, plan, e1, assumptions=[Assumption("f", f, 1.0, "test")])
    assert b["optimum_status"]["f"]["coverage_optimum"] == "optimal"
    assert b["coverage_efficiency"]["f"] == pytest.approx(e2.coverage, rel=1e-12)
    assert b["mean_time_efficiency"]["f"] == pytest.approx(e2.mean_time, rel=1e-9)
    assert e1.mean_time == pytest.approx(e2.mean_time, rel=1e-9)  # a uniform factor never moves it
    for key in ("coverage_efficiency", "mean_time_efficiency"):  # the run's own band (both assumptions)
        assert e1.band[key]["low"] <= e1.band[key]["value"] <= e1.band[key]["high"]


def test_band_ends_enclose_the_value():
    b = band(0.5, {"low_times": 0.43, "high_times": 0.48})
    assert (b["low"], b["high"]) == (0.43, 0.5) and b["value"] == 0.5
    b = band(10.0, {"low_times": 9.2, "high_times": 12.1})
    assert (b["low"], b["high"]) == (9.2, 12.1)
    b = band(float("nan"), {"low_times": float("nan")})
    assert math.isnan(b["low"]) and math.isnan(b["high"])
    w = np.array([1.0, 2.0, 3.0])
    h = headline_band(w, np.array([5.0, 11.0, np.inf]), np.array([5.0, 11.0, 13.0]), 12.0)
    assert h["people_within_T_after"]["low_times"] == 6 and h["people_within_T_after"]["high_times"] == 1
    assert h["people_within_T_after"]["low"] == 1 <= h["people_within_T_after"]["value"] == 3 <= h["people_within_T_after"]["high"] == 6


def test_within_uncertainty_compares_under_each_assumption():
    a = {"value": 100.0, "low_times": 110.0, "high_times": 90.0, "low": 90.0, "high": 110.0}
    assert not within_uncertainty(a, {"value": 95.0, "low_times": 104.0, "high_times": 86.0, "low": 86.0, "high": 104.0})
    assert within_uncertainty(a, {"value": 95.0, "low_times": 112.0, "high_times": 80.0, "low": 80.0, "high": 112.0})
    assert within_uncertainty(a, dict(a))  # equal under every assumption


def assert_bands_ordered(metrics: dict) -> None:
    """Every banded figure of a run's ``metrics.json``: low ≤ value ≤ high, both assumptions present."""
    h = metrics["headline"]
    bands = h["band"]
    for key in ("people_within_T_before", "people_within_T_after", "share_within_T_after", "mean_time_after"):
        assert key in bands, key
    if "efficiency" in metrics:
        bands = {**bands, **{f"efficiency.{k}": v for k, v in metrics["efficiency"]["band"].items() if k.endswith("_efficiency")}}
    for key, b in bands.items():
        assert {"value", "low", "high", *[a.name for a in ASSUMPTIONS]} <= set(b), key
        assert b["low"] <= b["value"] <= b["high"], (key, b)
        if not key.startswith("efficiency."):
            assert b["value"] == pytest.approx(h[key], rel=1e-12), key
    people = bands["people_within_T_after"]
    assert people["low"] == people["high_times"] < people["value"] < people["low_times"] == people["high"]
    mean = bands["mean_time_after"]
    assert mean["low"] == mean["low_times"] < mean["value"] < mean["high_times"] == mean["high"]


def _run_folder(path, name, people, gain, mean):
    """A SYNTHETIC run folder with just what `siting compare` reads: banded people within 30 min, gain and mean."""
    import json

    pop = 5_000_000.0
    bands = {"people_within_T_after": people, "people_newly_within_T": gain, "mean_time_after": mean,
             "share_within_T_after": {k: v / pop for k, v in people.items()}}  # fmt: skip
    h = {"share_within_T_before": 0.9, "share_within_T_after": people["value"] / pop, "mean_time_before": 11.0,
         "mean_time_after": mean["value"], "people_newly_within_T": gain["value"], "band": bands}  # fmt: skip
    after = {"share_within_30": h["share_within_T_after"], "share_within_45": 0.98, "mean": mean["value"], "median": 6.0, "p90": 20.0,
             "max": 300.0}  # fmt: skip
    m = {"threshold_minutes": 30, "headline": h, "national": {"before": {"population": pop}, "after": after}}
    man = {"scenario": name, "model": "evaluate", "status": "evaluated", "new_sites": ["a"] * 20, "language": "en"}
    path.mkdir()
    (path / "metrics.json").write_text(json.dumps(m), encoding="utf-8")
    (path / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    (path / "kommuner.csv").write_text("kommunenummer,politidistrikt\n0301,Oslo\n", encoding="utf-8")
    return path


def _b(value, low_times, high_times):
    return band(value, {"low_times": low_times, "high_times": high_times})


def test_compare_prints_bands_and_calls_small_differences_within_the_uncertainty(tmp_path):
    from siting.compare import difference_lines, display_table

    a = _run_folder(tmp_path / "a", "plan-a", _b(4_540_900, 4_590_000, 4_480_000), _b(40_900, 45_000, 36_000), _b(12.0, 11.0, 14.5))
    # b: more people than a under the run's times and the high drive times, fewer under the low ones
    b = _run_folder(tmp_path / "b", "plan-b", _b(4_541_500, 4_589_000, 4_481_000), _b(41_500, 44_000, 37_000), _b(11.0, 10.1, 13.3))
    lines = difference_lines([a, b], "en")
    assert lines[0].startswith("plan-b vs plan-a: +600 people within 30 min (−1\u202f000 to +1\u202f000") and lines[0].endswith(
        ": within the drive-time uncertainty")  # the order of the two plans depends on the drive-time assumption
    assert "−1.0\u00a0min mean drive time (−1.2\u00a0min to −0.9\u00a0min" in lines[1] and lines[1].endswith(": beyond the drive-time uncertainty")
    nb = difference_lines([a, b], "nb")
    assert nb[0].endswith(": innenfor usikkerheten i kjøretidene") and nb[1].endswith(": større enn usikkerheten i kjøretidene")
    shown, fmt = display_table([a, b], "en")
    gain = fmt["Newly within T"](shown["Newly within T"].iloc[0])
    assert gain == "41\u202f000 (36\u202f000–45\u202f000)"  # a band 9 000 wide: thousands, value and ends alike
    assert fmt["Mean drive time"](shown["Mean drive time"].iloc[0]) == "12.0\u00a0min (11.0\u00a0min–14.5\u00a0min)"
