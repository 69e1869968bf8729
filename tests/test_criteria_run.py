"""The ministry's three criteria in a run: offence weights for every model, evidence policy, capacity,
crime metrics and layers, and the shipped ministry-criteria scenario (5 km demand cells for speed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from siting.paths import SCENARIO_DIR
from siting.pipeline import build_problem, drive_time_matrix, load_inputs, load_network_stage, solve_model
from siting.run import run_scenario
from siting.scenario import load_scenario


def scenario(tmp_path, name="ministry-criteria", **changes):
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    data.setdefault("demand", {})["cell_size_m"] = 5000
    if data.get("wishes", {}).get("file"):
        data["wishes"]["file"] = str((SCENARIO_DIR / data["wishes"]["file"]).resolve())
    for dotted, v in changes.items():
        d = data
        *path, last = dotted.split(".")
        for k in path:
            d = d.setdefault(k, {})
        d[last] = v
    p = tmp_path / f"{data['name']}.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


#: the model-type tests use GeoNames places only as candidates (about 600, not 4 300): same code, faster
FEW_CANDIDATES = {"candidates.sources": ["geonames"]}


def stages(path):
    sc = load_scenario(path)
    inputs = load_inputs(sc)
    net = load_network_stage(sc)
    tm = drive_time_matrix(net, inputs, sc.network.cutoff_minutes)
    return sc, inputs, tm


def test_ministry_criteria_run(tmp_path, shared_data):
    out = run_scenario(scenario(tmp_path), tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    met = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert man["status"] == "optimal"
    # the weight blend and the crime assumptions are in the manifest
    dw = man["demand_weight"]
    assert dw["spec"] == {"population": 0.5, "offences": 0.5} and "scaled to the national population" in dw["formula"]
    assert dw["offences"]["period"] == "2021-2022" and dw["offences"]["no_data_municipalities"] == ["1151 Utsira"]
    assert "in proportion to population" in dw["offences"]["spreading"]
    # evidence policy: a formal/reported "no" excludes, a mayor's earlier statement does not
    pol = man["wishes_policy"]
    assert "Hyllestad" in pol["excluded_municipalities"] and set(pol["excluded_municipalities"]) <= {"Elverum", "Hyllestad"}
    assert set(pol["declined_not_counted"]) == {"Aukra", "Sande"}
    assert set(pol["bonus_municipalities"]) <= {"Krødsherad", "Salangen", "Vestre Toten", "Årdal"}
    props = pd.read_csv(out / "proposals.csv", dtype={"kommunenummer": str})
    assert len(props) == 20 and not props.kommunenummer.isin(["4637", "3420"]).any()
    # crime metrics: offences within T before/after, nationally and per district
    c = met["crime"]["national"]
    assert c["offences_within_T_after"] >= c["offences_within_T_before"]
    assert c["offences"] == pytest.approx(284597, rel=1e-3)  # + Utsira at the national rate
    assert set(met["crime"]["politidistrikt"]) == set(pd.read_csv(out / "kommuner.csv").politidistrikt)
    assert met["headline"]["share_offences_within_T_after"] >= met["headline"]["share_offences_within_T_before"]
    # the national aggregates travel with every run that uses wishes (for the map panel)
    assert met["wishes"]["national_aggregates"]["do_not_want_office"] == 133 and met["wishes"]["records"] == 16
    k = pd.read_csv(out / "kommuner.csv", dtype={"kommunenummer": str}).set_index("kommunenummer")
    assert k.loc["1151", "crime_flag"] == "no data" and np.isnan(k.loc["1151", "offences_per_1000"])
    assert k.loc["0301", "offences"] == 59973
    assert k.loc["0301", "offences_per_1000"] == pytest.approx(59973 / k.loc["0301", "population_2022"] * 1000, abs=0.01)
    assert k.loc["0301", "wish_status"] == "no answer on file"
    import geopandas as gpd

    layer = gpd.read_file(out / "layers.gpkg", layer="kommuner")
    assert {"offences", "offences_per_1000", "crime_flag"} <= set(layer.columns)


@pytest.mark.parametrize("mtype", ["mclp", "pmedian", "pcenter", "lscp", "backup", "hybrid"])
def test_offence_weights_work_for_every_model_type(tmp_path, shared_data, mtype):
    extra = {"model.target_share": 0.95} if mtype == "lscp" else {}
    sc, inputs, tm = stages(scenario(tmp_path, "max-coverage-30", **{"model.type": mtype, "demand.weight": "offences",
                                                                    "new_offices": 3, **FEW_CANDIDATES, **extra}))  # fmt: skip
    problem = build_problem(sc, inputs)
    assert problem.weights.sum() == pytest.approx(inputs.demand.offences.sum())
    assert not np.allclose(problem.weights / problem.weights.sum(), inputs.weights / inputs.weights.sum())
    sol = solve_model(sc, problem, tm)
    assert sol.status == "optimal"
    if mtype == "mclp":  # the objective counts offences within T, not people
        from siting.models import assign_nearest

        _, t = assign_nearest(tm.cost, sol.open_sites)
        assert sol.objective == pytest.approx(problem.weights[t <= 30].sum(), rel=1e-9)


@pytest.mark.parametrize("mtype", ["mclp", "pmedian"])
def test_capacity_from_a_scenario(tmp_path, shared_data, mtype):
    sc, inputs, tm = stages(scenario(tmp_path, "max-coverage-30", **{
        "model.type": mtype, "new_offices": 3, "model.capacity": {"max_per_office": 3000, "measure": "population"},
        **FEW_CANDIDATES}))
    sol = solve_model(sc, build_problem(sc, inputs), tm)
    assert sol.status == "optimal" and sol.model == f"capacitated_{mtype}"
    assert all(v <= 3000 + 1e-3 for v in sol.stats["load_per_new_site"].values())


def test_capacity_needs_mclp_or_pmedian(tmp_path):
    from siting.errors import SitingError

    with pytest.raises(SitingError, match="model.capacity works with model.type mclp or pmedian"):
        load_scenario(scenario(tmp_path, "max-coverage-30", **{"model.type": "pcenter", "model.capacity": {"max_per_office": 5}}))
