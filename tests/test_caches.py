"""Caches that cannot lie (issue 22 §1): for every cache kind — built road graph, drive-time matrix,
far rows, demand points — an entry copied from another scenario (poison), a truncated entry and
random bytes are each detected, warned about in one line, recorded and rebuilt, and the answer
equals a cold build bit for bit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_run import fast_copy

from siting import cache, pipeline
from siting.cli import main
from siting.scenario import load_scenario

TESTS_DIR = Path(__file__).resolve().parent
DAMAGE = ("poison", "truncate", "random")


def damage(entry: Path, how: str, other: Path) -> None:
    """Damage a cache entry: another entry copied under its name, cut to a third, or random bytes."""
    if how == "poison":
        shutil.copyfile(other, entry)
    elif how == "truncate":
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 3])
    else:
        entry.write_bytes(np.random.default_rng(22).bytes(entry.stat().st_size))


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """A fast national scenario (5 km demand, GeoNames candidates) with its own cache folder."""
    tmp = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SITING_CACHE_DIR", str(tmp / "cache"))
        pipeline.clear_memo()
        sc = load_scenario(fast_copy("max-coverage-30", tmp, candidates={"sources": ["geonames"]}))
        inputs = pipeline.load_inputs(sc)
        network = pipeline.load_network_stage(sc)
        yield {"cache": tmp / "cache", "sc": sc, "inputs": inputs, "network": network, "mp": mp}
    pipeline.clear_memo()


def rebuilt(events: list, kind: str) -> None:
    assert [e["cache"] for e in events] == [kind] and events[0]["action"] == "rebuilt", events


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_matrix_entry_is_rebuilt_and_equals_a_cold_build(stages, how, caplog):
    inputs, network = stages["inputs"], stages["network"]
    pipeline.clear_memo()
    cold = pipeline.drive_time_matrix(network, inputs, 90.0)
    other = pipeline.drive_time_matrix(network, inputs, 60.0)  # another scenario's entry (another cutoff)
    entry = stages["cache"] / "matrices" / f"{cold.key}.npz"
    damage(entry, how, stages["cache"] / "matrices" / f"{other.key}.npz")
    pipeline.clear_memo()
    with cache.recording() as events:
        tm = pipeline.drive_time_matrix(network, inputs, 90.0)
    rebuilt(events, "matrix")
    assert tm.cache == "built" and (tm.cost != cold.cost).nnz == 0 and np.array_equal(tm.before, cold.before)
    assert sum("cache: ignoring the matrix entry" in r.getMessage() for r in caplog.records) == 1
    pipeline.clear_memo()
    assert pipeline.drive_time_matrix(network, inputs, 90.0).cache == "disk"  # the rebuilt entry is good again


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_far_rows_entry_is_rebuilt_and_equals_a_cold_build(stages, how):
    inputs, network = stages["inputs"], stages["network"]
    pipeline.clear_memo()
    tm = pipeline.drive_time_matrix(network, inputs, 90.0)
    cold = pipeline.far_rows(network, inputs, tm)
    assert len(cold.rows) > 10
    other = pipeline.drive_time_matrix(network, inputs, 120.0)
    pipeline.far_rows(network, inputs, other)
    entry = stages["cache"] / "matrices" / f"{tm.key}-far.npz"
    damage(entry, how, stages["cache"] / "matrices" / f"{other.key}-far.npz")
    pipeline.clear_memo()
    tm = pipeline.drive_time_matrix(network, inputs, 90.0)
    with cache.recording() as events:
        far = pipeline.far_rows(network, inputs, tm)
    rebuilt(events, "far rows")
    assert np.array_equal(far.rows, cold.rows) and (far.cost != cold.cost).nnz == 0


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_network_entry_is_rebuilt_and_equals_a_cold_build(tmp_path, monkeypatch, how):
    from siting.network import NetworkSpec, build_network

    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    osm = TESTS_DIR / "fixtures" / "osm" / "synthetic_ferry.osm"
    cold = build_network(osm)
    build_network(osm, NetworkSpec(speed_factor=0.8))  # another scenario's graph
    entries = sorted((tmp_path / "networks").glob("*.npz"), key=lambda p: p.stat().st_mtime_ns)
    damage(entries[0], how, entries[1])
    with cache.recording() as events:
        g = build_network(osm)
    rebuilt(events, "network")
    assert g.info["cache"] == "miss" and (g.matrix != cold.matrix).nnz == 0 and np.array_equal(g.node_xy, cold.node_xy)
    assert build_network(osm).info["cache"] == "hit"


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_demand_entry_is_rebuilt_and_equals_a_cold_build(tmp_path, monkeypatch, how):
    from siting.data import load_kommuner
    from siting.demand import _kommuner_fingerprint, grid_demand
    from siting.paths import DATA_DIR

    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    with np.load(DATA_DIR / "population" / "ssb_grid_250m_2022.npz") as z:  # every 50th cell of the real grid: fast
        small = {k: z[k][::50] if z[k].ndim else z[k] for k in z.files}
    grid = tmp_path / "grid.npz"
    np.savez(grid, **small)
    kommuner = load_kommuner()
    cold = grid_demand(kommuner, grid, 10_000)
    grid_demand(kommuner, grid, 20_000)  # another scenario's demand
    entry = next((tmp_path / "demand").glob("*-10000.npz"))
    damage(entry, how, next((tmp_path / "demand").glob("*-20000.npz")))
    with cache.recording() as events:
        again = grid_demand(kommuner, grid, 10_000)
    rebuilt(events, "demand")
    pd.testing.assert_frame_equal(pd.DataFrame(again.drop(columns="geometry")), pd.DataFrame(cold.drop(columns="geometry")))
    # cells are assigned by the municipality polygons: other polygons are another key
    assert _kommuner_fingerprint(kommuner.assign(geometry=kommuner.geometry.buffer(1))) != _kommuner_fingerprint(kommuner)


def test_run_with_a_poisoned_matrix_gives_the_cold_answer_and_says_so(stages, tmp_path, caplog):
    """The probe of issue 22: another scenario's matrix under this scenario's key used to give its
    plan and headline silently (manifest ``matrix_cache: disk``)."""
    inputs, network = stages["inputs"], stages["network"]
    path = fast_copy("max-coverage-30", tmp_path, candidates={"sources": ["geonames"]}, outputs={"map": False})
    pipeline.clear_memo()
    assert main(["run", str(path), "--out", str(tmp_path / "cold")]) == 0
    cold = json.loads((tmp_path / "cold" / "manifest.json").read_text(encoding="utf-8"))
    other = pipeline.drive_time_matrix(network, inputs, 120.0)  # another scenario's matrix (another cutoff)
    matrices = stages["cache"] / "matrices"
    shutil.copyfile(matrices / f"{other.key}.npz", matrices / f"{cold['stage_keys']['matrix']}.npz")
    pipeline.clear_memo()
    caplog.clear()
    assert main(["run", str(path), "--out", str(tmp_path / "again")]) == 0
    man = json.loads((tmp_path / "again" / "manifest.json").read_text(encoding="utf-8"))
    assert man["new_sites"] == cold["new_sites"] and man["objective"] == cold["objective"]
    assert man["matrix_cache"] == "built" and [e["cache"] for e in man["cache_events"]] == ["matrix"]
    assert "made for other inputs: cutoff differ" in man["cache_events"][0]["problem"]
    assert sum("cache: ignoring the matrix entry" in r.getMessage() for r in caplog.records) == 1
    assert cold["cache_events"] == []


# ------------------------------------------------------------------------------------------- memory budget
def test_memory_budget_setting_and_guard(monkeypatch):
    from siting import resources

    gib = 1 << 30
    assert resources.parse_size("8G") == resources.parse_size("8 GiB") == resources.parse_size("8gb") == 8 * gib
    assert resources.parse_size("512M") == 512 << 20 and resources.parse_size("1.5g") == int(1.5 * gib)
    assert resources.parse_size("123456") == 123456
    assert resources.parse_size("50%") == resources.physical_memory() // 2
    monkeypatch.delenv("SITING_MAX_MEMORY", raising=False)
    assert resources.budget() == int(resources.physical_memory() * resources.DEFAULT_SHARE)
    monkeypatch.setenv("SITING_MAX_MEMORY", "1M")
    resources.require(1 << 20, "x", "y")  # at the budget: fine
    with pytest.raises(resources.ResourceError, match=r"^far rows \(2 × 3\) would need 2\.0 MiB of memory, more than the budget "
                       r"of 1\.0 MiB \(SITING_MAX_MEMORY\); use coarser demand, or raise SITING_MAX_MEMORY"):  # fmt: skip
        resources.require(2 << 20, "far rows (2 × 3)", "use coarser demand")


def test_drive_time_matrix_stops_at_the_budget_before_its_pairs_fill_memory(monkeypatch):
    from siting import resources, traveltime
    from siting.network import build_network

    g = build_network(TESTS_DIR / "fixtures" / "osm" / "synthetic_ferry.osm", use_cache=False)
    xy = g.node_xy
    full = traveltime.travel_time_matrix(g, xy, xy, cutoff=600)
    monkeypatch.setenv("SITING_MAX_MEMORY", str(16 * full.nnz))  # a quarter of what its pairs need
    with pytest.raises(resources.ResourceError, match="the drive-time matrix .* lower network.cutoff_minutes"):
        traveltime.travel_time_matrix(g, xy, xy, cutoff=600)


def test_estimated_drive_times_count_their_pairs_before_allocating_them(monkeypatch):
    from siting import resources
    from siting.network import StraightLineEstimator

    est = StraightLineEstimator()
    xy = np.random.default_rng(0).uniform(0, 50_000, (200, 2))
    assert est.time_matrix(xy, xy, 600).nnz == 200 * 200  # 50 km apart at most: all within 10 h
    monkeypatch.setenv("SITING_MAX_MEMORY", "1M")  # 40 000 pairs need ~4 MB
    with pytest.raises(resources.ResourceError, match="the estimated drive times"):
        est.time_matrix(xy, xy, 600)
