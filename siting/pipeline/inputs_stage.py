"""Stage 1, inputs: municipalities, offices, places, wishes, demand points and candidate sites."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import inputs as named_inputs
from siting.paths import DATA_DIR, cache_dir
from siting.pipeline.keys import _INPUTS, Timer, _files_fingerprint, digest
from siting.scenario import Scenario


@dataclass
class Inputs:
    """Everything read from data files for a run (EPSG:25833).

    Attributes
    ----------
    kommuner, stations, places : GeoDataFrame
        Municipalities, existing offices, populated places.
    wishes : DataFrame or None
        Municipalities' wishes (``wishes.file``).
    demand : GeoDataFrame
        Demand points with ``population``, ``kommunenummer``, ``politidistrikt``, ``fylke`` and the
        reported offences spread over them (``offences``, ``offences_low``, ``offences_high``).
    candidates : GeoDataFrame
        Candidate sites for new offices.
    sites : GeoDataFrame
        Existing offices first (``fixed`` True), then the candidates: the matrix columns.
    key : str
        Content-hash cache key of the settings and data files that made these inputs.
    sources : dict
        The named inputs read (:mod:`siting.inputs`): name → path, origin (scenario, cache or
        bundle) and source; written to ``manifest.json``.
    offences : DataFrame or None
        Reported offences per municipality (:func:`siting.data.crime.load_offences`).
    crime_info : dict
        The assumptions made spreading the offences (for the manifest).
    centrality : DataFrame or None
        SSB centrality index and class per municipality (:func:`siting.data.centrality.load_centrality`);
        each demand point carries its municipality's class as ``centrality_class``.
    """

    kommuner: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    wishes: pd.DataFrame | None
    demand: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    key: str
    sources: dict = field(default_factory=dict)
    offences: pd.DataFrame | None = None
    crime_info: dict = field(default_factory=dict)
    centrality: pd.DataFrame | None = None

    @property
    def n_fixed(self) -> int:
        return int(self.sites["fixed"].sum())

    @property
    def fixed(self) -> np.ndarray:
        return self.sites["fixed"].to_numpy(bool)

    @property
    def weights(self) -> np.ndarray:
        return self.demand["population"].to_numpy(float)


def inputs_key(sc: Scenario) -> str:
    """Cache key of the inputs stage: demand, candidate and wish settings plus the data files."""
    settings = {k: getattr(sc, k).model_dump(mode="json") for k in ("demand", "candidates", "wishes")}
    settings["plan_sites"] = sc.model.type == "evaluate"  # evaluate adds the offices opened later as sites
    with named_inputs.session(sc.input_paths()):  # the files the named inputs resolve to now (a fetch changes them)
        resolved = [found.path for _, found in named_inputs.status() if found is not None]
    files = [p for p in (*resolved, sc.candidates.extra_points, sc.wishes.file) if p is not None]
    stamp = [(str(p), os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in files if Path(p).exists()]
    return digest(settings, stamp, _files_fingerprint(DATA_DIR), str(cache_dir()))


def _wish_status_by_kommune(kommuner, wishes) -> pd.Series:
    if wishes is None:
        return pd.Series("no wishes file", index=kommuner.kommunenummer)
    from siting.wishes import wish_status

    return wish_status(wishes, kommuner.kommunenummer)


def load_inputs(sc: Scenario, timer: Timer | None = None) -> Inputs:
    """Stage 1: read municipalities, offices, places, wishes; build demand points and candidates."""
    from siting.candidates import build_candidates, plan_sites_from_offices
    from siting.data import load_kommuner, load_places, load_stations
    from siting.data.stations import offices_opened
    from siting.demand import build_demand

    timer = timer or Timer()
    key = inputs_key(sc)
    hit = _INPUTS.get(key)
    if hit is not None:
        return hit
    with named_inputs.session(sc.input_paths()) as used:  # scenario > cache > bundle, recorded
        with timer.stage("load data"):
            kommuner = load_kommuner()
            stations = load_stations()
            places = load_places()
        wishes = None
        if "wishes" in sc.input_paths():  # wishes.file or inputs.wishes
            from siting.wishes import load_wishes

            wishes = load_wishes(named_inputs.resolve("wishes").path, kommuner=kommuner)
        with timer.stage("demand & candidates"):
            from siting.crime import spread_offences
            from siting.data.crime import load_offences

            demand = build_demand(kommuner, places, sc.demand.source, sc.demand.grid_file, sc.demand.cell_size_m)
            o = sc.demand.offences
            offences = load_offences(o.period, o.group, kommuner=kommuner)
            spread, crime_info = spread_offences(demand, offences)
            demand = demand.assign(**{c: spread[c].to_numpy() for c in spread.columns})
            from siting.data.centrality import load_centrality
            from siting.periphery import demand_classes

            centrality = load_centrality(kommuner=kommuner)
            demand["centrality_class"] = demand_classes(demand.kommunenummer, centrality)
            cs = sc.candidates
            # evaluate: offices opened after the baseline (the 20 of 2022-2024) are sites at their own places
            plan = plan_sites_from_offices(offices_opened()) if sc.model.type == "evaluate" else None
            cand = build_candidates(kommuner, places, stations, cs.sources, cs.min_distance_to_station_m, cs.extra_points,
                                    cs.dedup_distance_m, cs.extra_points_max_offshore_m, plan_sites=plan)  # fmt: skip
    kname = kommuner.set_index("kommunenummer")["name"]
    sites = pd.concat([
        stations.assign(site_id=stations.station_id, kommune=stations.kommunenummer.map(kname), source="existing office",
                        fixed=True)[["site_id", "name", "kommunenummer", "kommune", "politidistrikt", "source", "fixed", "geometry"]],
        cand.assign(fixed=False),
    ], ignore_index=True)  # fmt: skip
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=25833)
    sites["wish_status"] = sites.kommunenummer.map(_wish_status_by_kommune(kommuner, wishes)).fillna("no answer on file")
    out = Inputs(kommuner, stations, places, wishes, demand, cand, sites, key, {n: i.as_dict() for n, i in used.items()},
                 offences=offences, crime_info=crime_info, centrality=centrality)  # fmt: skip
    _INPUTS.put(key, out)
    return out


