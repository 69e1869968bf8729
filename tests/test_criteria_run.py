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


def test_load_model_centrality_constraint_and_presence_metrics(tmp_path, shared_data):
    """model.type load on the national data (5 km cells): exact relief, the centrality constraint
    holds, and the run carries the workload and centrality metrics and offices.csv."""
    from siting.periphery import demand_classes

    path = scenario(tmp_path, "max-coverage-30", **{"model.type": "load", "new_offices": 4, **FEW_CANDIDATES,
                                                    "constraints.min_in_centrality_classes": {"classes": [5, 6], "count": 2}})  # fmt: skip
    sc, inputs, tm = stages(path)
    problem = build_problem(sc, inputs)
    sol = solve_model(sc, problem, tm)
    assert sol.status == "optimal" and sol.model == "load" and sol.objective > 0
    cls = demand_classes(inputs.sites.kommunenummer.iloc[sol.selected], inputs.centrality)
    assert (cls >= 5).sum() >= 2
    out = run_scenario(path, tmp_path / "run")
    met = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    w = met["workload"]["national"]["offences"]
    assert w["before"]["offices"] == 220 and w["after"]["offices"] == 224
    assert w["after"]["total"] == pytest.approx(w["before"]["total"]) and w["after"]["max"] <= w["before"]["max"]
    # the relief the model reports is the drop in load above the norm carried by today's offices
    offices = pd.read_csv(out / "offices.csv")
    old = offices[~offices.new]
    norm = w["norm"]
    relief = (old.offences_before - norm).clip(lower=0).sum() - (old.offences_after - norm).clip(lower=0).sum()
    assert relief == pytest.approx(sol.objective, rel=1e-6)
    c = met["centrality"]
    assert c["municipalities_with_office"]["before"] == 204 and c["gap"]["share_within_T_before"] < 0


def test_explain_criteria_and_revealed(tmp_path, shared_data):
    """siting explain --criteria --revealed on the decided plan (5 km cells): the ledger, revealed.json
    and the report section from the explain folder."""
    from siting.cli import main

    path = scenario(tmp_path, "evaluate-plan", **{"sites": ["Mortensrud politipost", "Salangen politistasjon"], "new_offices": 2,
                                                  **FEW_CANDIDATES})  # fmt: skip
    out = tmp_path / "explain"
    assert main(["explain", str(path), "--criteria", "--revealed", "--out", str(out)]) == 0
    led = pd.read_csv(out / "criteria.csv")
    assert list(led.row) == ["today", "population", "offences", "load", "centrality", "wishes", "all together (scenario)"]
    best = led.set_index("row")
    for col, row in (("people_within_T", "population"), ("offences_within_T", "offences"), ("load_relieved", "load"),
                     ("small_people_within_T", "centrality")):  # fmt: skip
        assert best[col].max() == pytest.approx(best.loc[row, col]), col
    rv = json.loads((out / "revealed.json").read_text(encoding="utf-8"))
    assert sum(rv["weights"].values()) == pytest.approx(1) and 0 < rv["efficiency"] <= 1 + 1e-9
    assert rv["efficiency"] >= rv["efficiency_population_only"] - 1e-9 and rv["proven"]
    assert "does not justify" in rv["note"]
    page = tmp_path / "report.html"
    assert main(["report", str(out), "--out", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "Hva hvert kriterium gir, og hva det koster" in text and "Det er ingen begrunnelse for planen" in text
    assert main(["report", str(out), "--out", str(page), "--lang", "en", "--force"]) == 0  # replaces its own page
    text = page.read_text(encoding="utf-8")
    assert "What each criterion buys and what it costs" in text and "It is not a justification of it" in text
