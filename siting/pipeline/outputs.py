"""Stage 6, outputs: the run folder, written atomically (the only stage that writes)."""

from __future__ import annotations

import platform
import time
from pathlib import Path

from siting import __version__
from siting.data.stations import count_offices
from siting.demand import describe as describe_demand
from siting.io import atomic_dir, json_text
from siting.models import Solution
from siting.pipeline.inputs_stage import Inputs
from siting.pipeline.keys import RUN_MARKER, Timer
from siting.pipeline.matrix import TimeMatrix
from siting.pipeline.metrics_stage import RunMetrics
from siting.pipeline.network_stage import Network
from siting.scenario import Scenario
from siting.uncertainty import describe as describe_band


def write_outputs(out: Path, sc: Scenario, scenario_path: Path, inputs: Inputs, network: Network, tm: TimeMatrix,
                  sol: Solution, result: RunMetrics, timer: Timer, keys: dict, force: bool = False,
                  t_start: float | None = None, notes: dict | None = None, analysis=None,
                  cache_events: list | None = None, whatif=None, structure=None) -> Path:  # fmt: skip
    """Stage 6 (the only one that writes): the run folder, atomically.

    ``proposals.gpkg``/``.csv``, ``kommuner.csv``, ``offices.csv`` (people and offences per office's
    catchment, before and after), ``metrics.json``, ``manifest.json``,
    ``map.html`` and ``layers.gpkg`` (from which ``siting map RUN`` redraws the map); with a
    :class:`siting.explain.PlanAnalysis`, also ``explain.csv`` (per new site), ``efficiency.json``
    and ``alternatives.csv`` when computed; with :class:`siting.maps.whatif.WhatIf` arrays, ``whatif.npz``
    (the map's what-if data, from which ``siting map RUN`` redraws it); with a
    :class:`siting.structure.StructureAnalysis` (structure scenarios), ``office_values.csv`` (today's
    offices: value, best replacement, kept), the ``structure`` layer (kept / moved / added) and
    ``metrics.json['structure']``.
    """
    from siting import traveltime

    graph, T = network.graph, sc.model.threshold_minutes
    with timer.stage("isochrones"):
        iso_b = traveltime.isochrones(graph, inputs.sites.geometry[inputs.fixed], T)
        iso_a = traveltime.isochrones(graph, inputs.sites.geometry.iloc[sol.open_sites], T)
    sites, proposals, kom, metrics = inputs.sites, result.proposals, result.kommuner, result.metrics
    manifest = {
        "scenario": sc.name, "title": sc.title, "language": sc.outputs.language, "description": sc.description,
        "scenario_file": str(Path(scenario_path)), "scenario_hash": sc.digest(), "siting_version": __version__,
        "python": platform.python_version(), "network": graph.source, "is_estimate": bool(graph.is_estimate),
        "network_info": graph.info, "demand_model": inputs.demand.attrs.get("demand_model"), "demand_points": len(inputs.demand),
        "demand": describe_demand(inputs.demand),
        "candidate_sites": len(inputs.candidates),
        "points_far_from_network": {"demand": tm.far_demand, "sites": tm.far_sites, "threshold_m": graph.spec.snap_threshold_m},
        "existing_offices": count_offices(inputs.stations), "existing_office_locations": inputs.n_fixed,
        "offices_as_of": str(inputs.stations.attrs.get("as_of")), "population_source": inputs.kommuner.attrs.get("population_source"),
        "inputs": {**inputs.sources, **({"roads": graph.info["input"]} if "input" in graph.info else {}),
                   **({"ferries": graph.info["ferries_input"]} if "ferries_input" in graph.info else {})},
        "data_sources": "data/SOURCES.md", "solver": sol.solver, "status": sol.status, "objective": sol.objective,
        "gap": sol.gap, "bound": sol.bound, "solve_runtime_s": round(sol.runtime, 3), "model": sol.model, "model_stats": sol.stats,
        "cutoff": {k: v for k, v in sol.stats.items() if k.startswith(("cutoff_", "beyond_cutoff_"))},
        "new_sites": [str(sites.site_id.iloc[j]) for j in sol.selected], "stage_keys": keys, "matrix_cache": tm.cache,
        "cache_events": list(cache_events or []),
        "band": describe_band(), "timings_s": timer.stages, **(notes or {}),  # notes["band"]: what the band stage did
    }  # fmt: skip
    with timer.stage("outputs"), atomic_dir(out, force=force, marker=RUN_MARKER) as tmp:
        pcsv = proposals.drop(columns="geometry").copy()
        if len(proposals):
            ll = proposals.to_crs(4326).geometry
            pcsv["lon"], pcsv["lat"] = ll.x.round(6), ll.y.round(6)
            pcsv["x"], pcsv["y"] = proposals.geometry.x.round(1), proposals.geometry.y.round(1)
        pcsv.to_csv(tmp / "proposals.csv", index=False)
        proposals.to_file(tmp / "proposals.gpkg", layer="proposals", driver="GPKG")
        kom.drop(columns="geometry").to_csv(tmp / "kommuner.csv", index=False)
        if result.offices is not None:
            result.offices.to_csv(tmp / "offices.csv", index=False)
        layers = tmp / "layers.gpkg"
        kom.to_file(layers, layer="kommuner", driver="GPKG")
        st = inputs.stations[[c for c in ("station_id", "office_id", "name", "type", "kommunenummer", "politidistrikt", "location_quality",
                                          "location_source", "stand_in", "geometry") if c in inputs.stations.columns]]  # fmt: skip
        st.to_file(layers, layer="stations", driver="GPKG")
        proposals.to_file(layers, layer="proposals", driver="GPKG")
        iso_b.to_file(layers, layer="coverage_before", driver="GPKG")
        iso_a.to_file(layers, layer="coverage_after", driver="GPKG")
        from siting.maps import demand_layer, make_map, write_map

        demand = demand_layer(inputs.demand, tm.before, result.after)
        demand.to_file(layers, layer="demand", driver="GPKG")
        if structure is not None:
            structure.offices.to_csv(tmp / "office_values.csv", index=False)
            structure.layer.to_file(layers, layer="structure", driver="GPKG")
            metrics["structure"] = structure.summary
        if analysis is not None:
            analysis.sites.to_csv(tmp / "explain.csv", index=False)
            if analysis.efficiency is not None:
                e = analysis.efficiency
                metrics["efficiency"] = {k: e[k] for k in ("p", "threshold_minutes", "coverage_efficiency", "mean_time_efficiency", "band")
                                         if k in e}  # fmt: skip
                (tmp / "efficiency.json").write_text(json_text(e), encoding="utf-8")
            if analysis.alternatives is not None:
                analysis.alternatives.to_csv(tmp / "alternatives.csv", index=False)
        if whatif is not None:
            from siting.maps import whatif as wi

            wi.save(whatif, tmp / wi.FILE)
        (tmp / "metrics.json").write_text(json_text(metrics), encoding="utf-8")
        if sc.outputs.map:
            fmap = make_map(kom, st, proposals, iso_b, iso_a, metrics, manifest, demand=demand, whatif=whatif,
                            structure=structure.layer if structure is not None else None)  # fmt: skip
            write_map(fmap, tmp / "map.html")
        total = {"total": round(time.perf_counter() - t_start, 3)} if t_start is not None else {}
        manifest["timings_s"] = {**timer.stages, **total}
        (tmp / "manifest.json").write_text(json_text(manifest), encoding="utf-8")
    return out


