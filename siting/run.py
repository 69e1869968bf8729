"""``siting run``: scenario → data → network → demand & candidates → model → metrics → run folder.

The run folder is written atomically (all files appear together or not at all):
``proposals.gpkg``/``.csv``, ``kommuner.csv``, ``metrics.json``, ``manifest.json``, ``map.html`` and
``layers.gpkg`` (from which ``siting map RUN`` redraws the map).
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import __version__, traveltime
from siting.candidates import build_candidates
from siting.data import load_kommuner, load_places, load_stations
from siting.demand import build_demand
from siting.errors import InfeasibleError, SitingError
from siting.io import atomic_dir, atomic_path
from siting.metrics import compute_metrics, kommune_table
from siting.models import MODELS, SiteConstraints
from siting.network import NetworkSpec, load_network
from siting.paths import MAPS_DIR, SCENARIO_DIR
from siting.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)


class Timer:
    def __init__(self):
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        t = time.perf_counter()
        log.info("· %s", name)
        yield
        self.stages[name] = round(time.perf_counter() - t, 3)


def _match_sites(names: list[str], cand: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame, what: str) -> np.ndarray:
    """Candidate indices for site names: a place name, else a municipality name or number (its largest candidate place)."""
    out = []
    for n in names:
        key = str(n).strip().lower()
        hit = cand.index[cand["name"].str.lower() == key]
        if not len(hit):
            k = kommuner[(kommuner.name.str.lower() == key) | (kommuner.kommunenummer == key)]
            if len(k):
                sub = cand[cand.kommunenummer == k.kommunenummer.iloc[0]].sort_values("population", ascending=False, kind="stable")
                same = sub.index[sub["name"].str.lower() == k.name.iloc[0].lower()]
                hit = same if len(same) else sub.index[:1]  # the municipality's largest place
        if not len(hit):
            raise SitingError(f"{what}: site '{n}' is not a candidate (a place or municipality name); "
                              "check spelling or add it with candidates.extra_points")  # fmt: skip
        out.append(int(hit[0]))
    return np.array(out, dtype=int)


def prepare(sc: Scenario, timer: Timer):
    with timer.stage("load data"):
        kommuner = load_kommuner()
        stations = load_stations()
        places = load_places()
    wishes = None
    if sc.wishes.file is not None:
        from siting.wishes import load_wishes

        wishes = load_wishes(sc.wishes.file, kommuner=kommuner)
    with timer.stage("network"):
        spec = NetworkSpec(**sc.network.model_dump(exclude={"cutoff_minutes"}))
        graph = load_network(spec)
    with timer.stage("demand & candidates"):
        demand = build_demand(kommuner, places, sc.demand.source, sc.demand.grid_file, sc.demand.cell_size_m)
        cand = build_candidates(kommuner, places, stations, sc.candidates.source,
                                sc.candidates.min_distance_to_station_m, sc.candidates.extra_points)  # fmt: skip
    return kommuner, stations, places, wishes, graph, demand, cand


def wish_status_by_kommune(kommuner, wishes) -> pd.Series:
    if wishes is None:
        return pd.Series("no wishes file", index=kommuner.kommunenummer)
    from siting.wishes import wish_status

    return wish_status(wishes, kommuner.kommunenummer)


def run_scenario(path: str | Path, out: str | Path | None = None, force: bool = False, copy_map: bool = True) -> Path:
    """Run a scenario file and write its run folder; returns the folder.

    For the shipped scenarios (files in ``scenarios/``) the map is also copied to
    ``maps/<scenario>.html`` unless ``copy_map`` is false.
    """
    sc = load_scenario(path)
    out = Path(out) if out else Path("runs") / sc.name
    if out.exists() and not force:
        raise SitingError("run folder exists; use --force to overwrite it or choose another --out", path=out)
    timer = Timer()
    t_start = time.perf_counter()
    kommuner, stations, places, wishes, graph, demand, cand = prepare(sc, timer)
    n_fixed = len(stations)
    sites = pd.concat([
        stations.assign(site_id=stations.station_id, kommune=stations.kommunenummer.map(kommuner.set_index("kommunenummer")["name"]),
                        source="existing office", fixed=True)[["site_id", "name", "kommunenummer", "kommune", "politidistrikt", "source", "fixed", "geometry"]],
        cand.assign(fixed=False),
    ], ignore_index=True)  # fmt: skip
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=25833)
    fixed = sites["fixed"].to_numpy(bool)
    status_by_k = wish_status_by_kommune(kommuner, wishes)
    sites["wish_status"] = sites.kommunenummer.map(status_by_k).fillna("no answer")
    T = sc.model.threshold_minutes
    far_demand = far_sites = 0
    if not graph.is_estimate:  # points farther than the snap threshold from any road are reported
        far_demand = traveltime.snap(graph, demand.geometry).far.sum()
        far_sites = traveltime.snap(graph, sites.geometry).far.sum()
    with timer.stage("drive-time matrix"):
        cost = traveltime.travel_time_matrix(graph, demand.geometry, sites.geometry, cutoff=sc.network.cutoff_minutes)
        open_fixed = np.flatnonzero(fixed)
        before, _ = traveltime.nearest_facility_time(graph, demand.geometry, sites.geometry.iloc[open_fixed])
    cand_off = n_fixed  # candidate i is site n_fixed + i
    cons = SiteConstraints(names=sites["name"].tolist(),
                           groups={"politidistrikt": sites.politidistrikt.to_numpy(str), "kommunenummer": sites.kommunenummer.to_numpy(str)})  # fmt: skip
    forbidden = np.zeros(len(sites), bool)
    required = np.zeros(len(sites), bool)
    if sc.constraints.forbidden_sites:
        forbidden[cand_off + _match_sites(sc.constraints.forbidden_sites, cand, kommuner, "constraints.forbidden_sites")] = True
    if sc.constraints.required_sites:
        required[cand_off + _match_sites(sc.constraints.required_sites, cand, kommuner, "constraints.required_sites")] = True
    if wishes is not None:
        declined = sites["wish_status"].eq("declined").to_numpy() & ~fixed
        premises = sites["wish_status"].eq("asked_with_premises").to_numpy() & ~fixed
        if sc.wishes.exclude_declined:
            forbidden |= declined & ~required
        if sc.wishes.asked_with_premises == "require":
            # one site per such municipality: its first candidate (the municipality centre if present)
            first = sites[premises].drop_duplicates("kommunenummer").index.to_numpy()
            required[first] = True
        elif sc.wishes.asked_with_premises == "bonus":
            scale = float(demand.population.sum()) / max(sc.new_offices, 1)
            cons.wish_bonus = np.where(premises, sc.wishes.bonus * scale, 0.0)
    cons.forbidden, cons.required = forbidden, required
    if sc.constraints.max_per_kommune is not None:
        cons.max_per_group["kommunenummer"] = sc.constraints.max_per_kommune
    if sc.constraints.max_per_district is not None:
        cons.max_per_group["politidistrikt"] = sc.constraints.max_per_district
    if sc.constraints.min_per_district is not None:
        cons.min_per_group["politidistrikt"] = sc.constraints.min_per_district
    w = demand.population.to_numpy(float)
    solver = sc.solver
    with timer.stage("model"):
        mtype = sc.model.type
        if mtype in ("none", "evaluate"):
            chosen = _match_sites(sc.sites, cand, kommuner, "sites") + cand_off if mtype == "evaluate" else np.array([], int)
            base = MODELS["pmedian"](cost, w, 0, fixed=fixed)
            sol = base.make_solution(np.unique(chosen), float("nan"), "evaluated", 0.0, float("nan"), 0.0, "none", None)
            sol.model = mtype
        elif mtype == "lscp":
            groups = demand.politidistrikt.to_numpy(str) if sc.model.target_scope == "district" else None
            m = MODELS["lscp"](cost, w, 0, fixed=fixed, constraints=cons, service_radius=T,
                               target_share=sc.model.target_share, demand_groups=groups)  # fmt: skip
            sol = m.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
            minimum = len(sol.selected)
            if sc.model.then_best and sc.new_offices > minimum:
                req2 = required.copy()
                req2[sol.selected] = True
                from dataclasses import replace

                m2 = MODELS["mclp"](cost, w, sc.new_offices, fixed=fixed, constraints=replace(cons, required=req2), service_radius=T)
                sol2 = m2.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
                sol2.stats = {**sol2.stats, "lscp_minimum_new_offices": minimum, "lscp_status": sol.status}
                sol = sol2
            else:
                sol.stats = {**sol.stats, "lscp_minimum_new_offices": minimum}
        else:
            params = {"service_radius": T}
            if mtype == "backup":
                params["backup_weight"] = sc.model.backup_weight
            if mtype == "pcenter":
                params["fixed_times"] = before
            if mtype == "hybrid":
                params.update(objective_weights=sc.model.objective_weights, lexicographic=sc.model.lexicographic, solver=solver.name)
            m = MODELS[mtype](cost, w, sc.new_offices, fixed=fixed, constraints=cons, **params)
            try:
                sol = m.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
            except InfeasibleError as exc:
                raise InfeasibleError(f"{Path(path).name}: {exc}") from None
    with timer.stage("metrics"):
        after, idx = traveltime.nearest_facility_time(graph, demand.geometry, sites.geometry.iloc[sol.open_sites])
        metrics = compute_metrics(demand, before, after, kommuner.set_index("kommunenummer")["population_2022"])
        nb, na = metrics["national"]["before"], metrics["national"]["after"]
        cov_b = float(w[before <= T].sum() / w.sum())
        cov_a = float(w[after <= T].sum() / w.sum())
        metrics = {
            "scenario": sc.name, "threshold_minutes": T, "network": graph.source, "is_estimate": bool(graph.is_estimate),
            "headline": {"share_within_T_before": cov_b, "share_within_T_after": cov_a,
                         "mean_time_before": nb["mean"], "mean_time_after": na["mean"],
                         "p90_before": nb["p90"], "p90_after": na["p90"], "max_before": nb["max"], "max_after": na["max"]},
            **metrics,
        }  # fmt: skip
        # per proposal: population whose nearest office it becomes, newly within T, time saved
        chosen_sites = np.asarray(sol.selected, dtype=int)
        open_list = np.asarray(sol.open_sites)
        nearest_site = np.where(idx >= 0, open_list[np.maximum(idx, 0)], -1)
        rows = []
        for rank, j in enumerate(chosen_sites, start=1):
            served = nearest_site == j
            saved = np.where(np.isfinite(before[served]), before[served], np.nan) - after[served]
            s = sites.iloc[j]
            rows.append({
                "rank": rank, "site_id": s.site_id, "name": s["name"], "kommunenummer": s.kommunenummer, "kommune": s.kommune,
                "politidistrikt": s.politidistrikt, "source": s.source, "wish_status": s.wish_status,
                "pop_served": float(w[served].sum()),
                "pop_newly_covered": float(w[served & (before > T) & (after <= T)].sum()),
                "time_saved_pop_min": float(np.nansum(w[served] * saved)),
                "mean_time_saved": float(np.nansum(w[served] * saved) / w[served].sum()) if w[served].sum() else 0.0,
                "geometry": s.geometry,
            })  # fmt: skip
        proposals = gpd.GeoDataFrame(rows, geometry="geometry", crs=25833) if rows else gpd.GeoDataFrame(
            columns=["rank", "site_id", "name", "kommunenummer", "kommune", "politidistrikt", "source", "wish_status", "pop_served",
                     "pop_newly_covered", "time_saved_pop_min", "mean_time_saved", "geometry"], geometry="geometry", crs=25833)  # fmt: skip
        kt = kommune_table(demand, before, after)
        kom = kommuner.merge(kt, on="kommunenummer", how="left")
        kom["wish_status"] = kom.kommunenummer.map(status_by_k).fillna("no answer")
        kom["offers_premises"] = kom["wish_status"].eq("asked_with_premises")
        kom["new_offices"] = kom.kommunenummer.map(proposals.groupby("kommunenummer").size() if len(proposals) else {}).fillna(0).astype(int)
        if wishes is not None:
            wanted = set(kom.kommunenummer[kom.wish_status.isin(["asked", "asked_with_premises"])])
            got = set(proposals.kommunenummer)
            declined = set(kom.kommunenummer[kom.wish_status.eq("declined")])
            metrics["wishes"] = {"asked": len(wanted), "asked_and_got_office": len(wanted & got),
                                 "declined_but_got_office": len(declined & got)}  # fmt: skip
    with timer.stage("isochrones"):
        iso_b = traveltime.isochrones(graph, sites.geometry.iloc[open_fixed], T)
        iso_a = traveltime.isochrones(graph, sites.geometry.iloc[sol.open_sites], T)
    manifest = {
        "scenario": sc.name, "title": f"{sc.name}: {len(sol.selected)} new police offices", "description": sc.description,
        "scenario_file": str(Path(path)), "scenario_hash": sc.digest(), "siting_version": __version__, "python": platform.python_version(),
        "network": graph.source, "is_estimate": bool(graph.is_estimate), "network_info": graph.info,
        "demand_model": demand.attrs.get("demand_model"), "demand_points": len(demand), "candidate_sites": len(cand),
        "points_far_from_network": {"demand": int(far_demand), "sites": int(far_sites), "threshold_m": graph.spec.snap_threshold_m},
        "existing_offices": n_fixed, "population_source": kommuner.attrs.get("population_source"),
        "data_sources": "data/SOURCES.md", "solver": sol.solver, "status": sol.status, "objective": sol.objective,
        "gap": sol.gap, "bound": sol.bound, "solve_runtime_s": round(sol.runtime, 3), "model": sol.model, "model_stats": sol.stats,
        "new_sites": [str(sites.site_id.iloc[j]) for j in sol.selected], "timings_s": timer.stages,
    }  # fmt: skip
    with timer.stage("outputs"), atomic_dir(out, force=force) as tmp:
        pcsv = proposals.drop(columns="geometry").copy()
        if len(proposals):
            ll = proposals.to_crs(4326).geometry
            pcsv["lon"], pcsv["lat"] = ll.x.round(6), ll.y.round(6)
            pcsv["x"], pcsv["y"] = proposals.geometry.x.round(1), proposals.geometry.y.round(1)
        pcsv.to_csv(tmp / "proposals.csv", index=False)
        proposals.to_file(tmp / "proposals.gpkg", layer="proposals", driver="GPKG")
        kom.drop(columns="geometry").to_csv(tmp / "kommuner.csv", index=False)
        layers = tmp / "layers.gpkg"
        kom.to_file(layers, layer="kommuner", driver="GPKG")
        st = stations[["station_id", "name", "type", "kommunenummer", "politidistrikt", "geometry"]]
        st.to_file(layers, layer="stations", driver="GPKG")
        proposals.to_file(layers, layer="proposals", driver="GPKG")
        iso_b.to_file(layers, layer="coverage_before", driver="GPKG")
        iso_a.to_file(layers, layer="coverage_after", driver="GPKG")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False, default=float), encoding="utf-8")
        if sc.outputs.map:
            from siting.maps import make_map, write_map

            fmap = make_map(kom, st, proposals, iso_b, iso_a, metrics, manifest)
            write_map(fmap, tmp / "map.html")
        manifest["timings_s"] = {**timer.stages, "total": round(time.perf_counter() - t_start, 3)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    if copy_map and sc.outputs.map and sc.outputs.maps_copy and Path(path).resolve().parent == SCENARIO_DIR.resolve():
        with atomic_path(MAPS_DIR / f"{sc.name}.html") as tmpmap:
            shutil.copyfile(out / "map.html", tmpmap)
    return out
