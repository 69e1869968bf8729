"""`siting sweep`: value parsing, the Cartesian product, one matrix per network setting, the local
and Dask (LocalCluster) executors give identical tables, summary tables by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_run import fast_copy

from siting import pipeline
from siting.cli import main
from siting.errors import SitingError
from siting.scenario import load_scenario
from siting.sweep import expand, parse_values, parse_vary, read_list, run_sweep


def test_parse_values_and_ranges():
    assert parse_values("20,30,45") == [20, 30, 45]
    assert parse_values("0..40:5") == list(range(0, 41, 5))
    assert parse_values("0..3") == [0, 1, 2, 3]
    assert parse_values("0.8..1.2:0.2") == [0.8, 1.0, 1.2]
    assert parse_values("true,false") == [True, False]
    assert parse_vary("network.speed_factor=0.8,1,1.2") == ("network.speed_factor", [0.8, 1, 1.2])
    for bad in ("new_offices", "new_offices=", "=1,2", "new_offices=a..b"):
        with pytest.raises(SitingError):
            parse_vary(bad)


def test_expand_is_the_cartesian_product_and_validates(tmp_path):
    base = load_scenario(fast_copy("max-coverage-30", tmp_path))
    runs = expand(base, [("model.threshold_minutes", [20, 30]), ("new_offices", [0, 5, 10])])
    assert len(runs) == 6 and [r.run_id for r in runs][:2] == ["run-0001", "run-0002"]
    assert [(r.scenario.model.threshold_minutes, r.scenario.new_offices) for r in runs] == [
        (20, 0), (20, 5), (20, 10), (30, 0), (30, 5), (30, 10)]  # fmt: skip
    with pytest.raises(SitingError, match="model.treshold: unknown field"):
        expand(base, [("model.treshold", [20])])
    with pytest.raises(SitingError, match="new_offices"):
        expand(base, [("new_offices", [-1])])
    lst = tmp_path / "runs.csv"
    lst.write_text("new_offices,model.threshold_minutes\n3,45\n4,20\n", encoding="utf-8")
    runs = expand(base, rows=read_list(lst))
    assert [(r.scenario.new_offices, r.scenario.model.threshold_minutes) for r in runs] == [(3, 45), (4, 20)]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_local_and_dask_give_identical_tables(tmp_path, dask_client):
    path = fast_copy("max-coverage-30", tmp_path)
    runs = expand(load_scenario(path), [("model.threshold_minutes", [20, 30]), ("network.speed_factor", [1, 1.2]),
                                        ("new_offices", [0, 2, 4])])  # fmt: skip
    pipeline.clear_memo()
    local = run_sweep(path, runs, tmp_path / "local", jobs=2, progress=False)
    pipeline.clear_memo()
    dask = run_sweep(path, runs, tmp_path / "dask", client=dask_client, progress=False)
    for name in ("runs", "sites", "frequency", "frequency_kommuner", "marginal"):
        a, b = pd.read_csv(local / f"{name}.csv"), pd.read_csv(dask / f"{name}.csv")
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    meta = json.loads((dask / "sweep.json").read_text(encoding="utf-8"))
    assert meta["executor"].startswith("dask") and meta["runs"] == 12
    # one matrix per network setting: 2 groups, each matrix built or read once, never per run
    t = json.loads((local / "timings.json").read_text(encoding="utf-8"))
    assert len(t["groups"]) == 2 and sorted(g["runs"] for g in t["groups"]) == [6, 6]
    assert all(g["matrix_source"] in ("built", "disk") and g["matrix_builds"] <= 1 for g in t["groups"])
    assert {g["params"]["network.speed_factor"] for g in t["groups"]} == {1, 1.2}

    table = pd.read_csv(local / "runs.csv")
    assert (table.status == "optimal").all() and list(table.opened) == [0, 2, 4] * 4
    # more offices never lose coverage; p = 0 is today's coverage
    for _, g in table.groupby(["model.threshold_minutes", "network.speed_factor"]):
        assert g.pop_within_T.is_monotonic_increasing
        assert g.pop_within_T.iloc[0] == pytest.approx(g.pop_within_T_before.iloc[0])
    # MCLP objective (people within T) equals the exactly re-scored plan
    assert np.allclose(table.objective, table.pop_within_T, rtol=1e-9)
    # faster driving: more people within T today
    b = table[table.new_offices == 0].set_index(["model.threshold_minutes", "network.speed_factor"]).pop_within_T_before
    assert b[(30, 1.2)] > b[(30, 1)] and b[(20, 1.2)] > b[(20, 1)]

    # marginal curve by hand: change per office between consecutive p
    m = pd.read_csv(local / "marginal.csv")
    g = m[(m["model.threshold_minutes"] == 30) & (m["network.speed_factor"] == 1)].set_index("p")
    assert g.loc[2, "pop_within_T_change_per_office"] == pytest.approx((g.loc[2, "pop_within_T"] - g.loc[0, "pop_within_T"]) / 2)
    # frequency by hand from sites.csv
    sites = pd.read_csv(local / "sites.csv")
    f = pd.read_csv(local / "frequency.csv").set_index("site_id")
    n_runs = int((table.opened > 0).sum())
    top = f.index[0]
    assert f.loc[top, "runs_selected"] == sites[sites.site_id == top].run_id.nunique()
    assert f.loc[top, "share_of_runs"] == pytest.approx(f.loc[top, "runs_selected"] / n_runs)
    for sid, row in f.iterrows():
        chosen_p4 = sites[(sites.site_id == sid) & sites.run_id.isin(table.run_id[table.opened == 4])].run_id.nunique()
        assert row["share_p4"] == pytest.approx(chosen_p4 / 4)
        assert ("4" in str(row["robust_core_at_p"]).split(",")) == (chosen_p4 == 4)


def test_sweep_cli_and_bad_key(tmp_path, capsys):
    path = fast_copy("max-coverage-30", tmp_path)
    assert main(["sweep", str(path), "--vary", "model.threshold=20", "--out", str(tmp_path / "x")]) == 2
    assert "unknown field" in capsys.readouterr().err
    out = tmp_path / "sw"
    assert main(["sweep", str(path), "--vary", "new_offices=1..2", "--jobs", "1", "--out", str(out)]) == 0
    assert {"runs.csv", "sites.csv", "marginal.csv", "frequency.csv", "timings.json", "sweep.json"} <= {p.name for p in out.iterdir()}
    assert main(["sweep", str(path), "--vary", "new_offices=1", "--out", str(out)]) == 2  # exists
    assert "--force" in capsys.readouterr().err
