"""The staged run: inputs → network → drive-time matrix → model → metrics → outputs.

Every stage is a plain function with typed (dataclass) inputs and outputs and a content-hash
cache key, so that many runs (a sweep) share one network and one drive-time matrix::

    inputs  = load_inputs(sc)                         # kommuner, stations, demand, candidates, sites
    network = load_network_stage(sc)                  # RoadGraph, once per (file, speeds, ferries)
    matrix  = drive_time_matrix(network, inputs, sc.network.cutoff_minutes, floor=matrix_floor(sc))
    problem = build_problem(sc, inputs)               # weights, fixed, constraints: plain arrays
    sol     = solve_model(sc, problem, matrix)        # no I/O
    result  = compute_metrics_stage(sc, inputs, network, matrix, sol)
    write_outputs(out, ...)                           # the only stage that writes

``inputs``, ``network`` and ``matrix`` are memoised in-process by their key; the matrix is also
cached on disk (``<cache>/matrices/<key>.npz``), keyed by the graph's content, the exact demand
and site coordinates, the access settings and the cutoff. Models never read files or print.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting import __version__
from siting import inputs as named_inputs
from siting.data.stations import count_offices
from siting.demand import describe as describe_demand
from siting.errors import InfeasibleError
from siting.io import atomic_dir, atomic_path, check_output_dir
from siting.models import MODELS, SiteConstraints, Solution
from siting.network import NetworkSpec, RoadGraph
from siting.paths import DATA_DIR, MAPS_DIR, SCENARIO_DIR, cache_dir
from siting.scenario import Scenario

log = logging.getLogger(__name__)

#: A folder holding this file is a run folder: the only kind ``--force`` may replace.
RUN_MARKER = "manifest.json"

#: Bump when the on-disk matrix format changes.
MATRIX_CACHE_VERSION = 2


# ------------------------------------------------------------------------------------------- keys & memo
def digest(*parts) -> str:
    """Content hash (16 hex digits) of JSON-able values and numpy arrays."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str((p.dtype, p.shape)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()[:16]


class _Memo:
    """A small in-process LRU memo per stage (big objects: keep only the last few)."""

    def __init__(self, size: int = 4):
        self.size = size
        self.items: OrderedDict[str, object] = OrderedDict()

    def get(self, key: str):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        return None

    def put(self, key: str, value) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


_INPUTS, _NETWORKS, _MATRICES = _Memo(4), _Memo(4), _Memo(8)


def clear_memo() -> None:
    """Forget every in-process stage result (the disk caches stay)."""
    for m in (_INPUTS, _NETWORKS, _MATRICES):
        m.items.clear()


def _files_fingerprint(folder: Path) -> list:
    """(name, size, mtime) of every file under ``folder``: bundled data changes change the key."""
    if not folder.is_dir():
        return []
    out = []
    for root, _, files in os.walk(folder):
        for f in sorted(files):
            st = os.stat(Path(root) / f)
            out.append((str(Path(root, f).relative_to(folder)), st.st_size, st.st_mtime_ns))
    return sorted(out)


class Timer:
    """Wall-clock seconds per stage (recorded in the manifest)."""

    def __init__(self):
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        t = time.perf_counter()
        log.info("· %s", name)
        yield
        self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t, 3)


# ------------------------------------------------------------------------------------------- 1 inputs
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
                 offences=offences, crime_info=crime_info)  # fmt: skip
    _INPUTS.put(key, out)
    return out


# ------------------------------------------------------------------------------------------- 2 network
@dataclass
class Network:
    """The road graph of a run and its cache keys.

    Attributes
    ----------
    graph : RoadGraph
    key : str
        Key of the settings and network file (memo key).
    content_key : str
        Hash of the built graph itself (nodes, edges, snapping and access settings): the part
        of the drive-time matrix key that comes from the network.
    """

    graph: RoadGraph
    key: str
    content_key: str


def network_key(spec: NetworkSpec) -> str:
    """Cache key of the network stage: the settings and the identity of the file they resolve to."""
    from siting.network import national_roads_path

    path = spec.path if spec.path is not None else national_roads_path()
    stamp = None
    if path is not None and Path(path).exists():
        st = os.stat(path)
        stamp = (str(path), st.st_size, st.st_mtime_ns)
    return digest(spec.model_dump(mode="json"), stamp, str(cache_dir()))


def network_spec(sc: Scenario) -> NetworkSpec:
    return NetworkSpec(**{**sc.network.model_dump(exclude={"cutoff_minutes"}), "path": sc.input_paths().get("roads")})


def load_network_stage(sc: Scenario, timer: Timer | None = None) -> Network:
    """Stage 2: the road graph (disk cache in :func:`siting.network.build_network`, memo here)."""
    from siting.network import load_network

    timer = timer or Timer()
    spec = network_spec(sc)
    key = network_key(spec)
    hit = _NETWORKS.get(key)
    if hit is not None:
        return hit
    with timer.stage("network"):
        graph = load_network(spec)
    if graph.is_estimate:
        content = digest("estimate", spec.model_dump(mode="json"))
    else:
        m = graph.matrix.tocsr()
        access = spec.model_dump(mode="json", include={"access_speed_kmh", "access_detour", "snap_threshold_m"})
        snappable = graph.snappable if graph.snappable is not None else np.ones(graph.n_nodes, bool)
        content = digest(graph.node_xy, m.indptr, m.indices, m.data, snappable, access)
    out = Network(graph, key, content)
    _NETWORKS.put(key, out)
    return out


# ------------------------------------------------------------------------------------------- 3 matrix
@dataclass
class TimeMatrix:
    """Drive times of a run.

    Attributes
    ----------
    cost : scipy.sparse.csr_array
        ``(n_demand, n_sites)`` minutes from site to demand point (stored entry = reachable, 0.0
        included): every pair no longer than the point's time to its nearest existing office (all a
        model can use: a farther site never serves the point; exact also beyond the cutoff) and at
        least ``floor`` minutes; the cutoff applies to points no existing office reaches.
    before : ndarray
        Minutes from the nearest existing office to each demand point (no cutoff; ``inf`` =
        unreachable).
    cutoff : float
    far_demand, far_sites : int
        Points farther than the snap threshold from any road.
    key : str
        Content hash of the graph, demand and site coordinates, cutoff.
    seconds : float
        Time it took to build (0 when read from a cache).
    cache : str
        ``"built"``, ``"disk"`` or ``"memo"``.
    """

    cost: sp.csr_array
    before: np.ndarray
    cutoff: float
    far_demand: int
    far_sites: int
    key: str
    seconds: float = 0.0
    cache: str = "built"


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return np.column_stack([gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()])


def matrix_floor(sc: Scenario) -> float:
    """Minutes every demand point's matrix row must reach whatever its nearest existing office:
    the service radius for backup coverage (a point covered once needs its second cover), else 0."""
    return float(sc.model.threshold_minutes) if sc.model.type == "backup" else 0.0


def matrix_key(network: Network, inputs: Inputs, cutoff: float, floor: float = 0.0) -> str:
    return digest(MATRIX_CACHE_VERSION, network.content_key, _xy(inputs.demand), _xy(inputs.sites), inputs.fixed, float(cutoff),
                  float(floor))  # fmt: skip


def drive_time_matrix(network: Network, inputs: Inputs, cutoff: float, timer: Timer | None = None,
                      use_disk: bool = True, floor: float = 0.0) -> TimeMatrix:  # fmt: skip
    """Stage 3: the sparse demand × site drive-time matrix and today's nearest-office times.

    A demand point's row holds the sites within ``max(its nearest-office time, floor)`` minutes
    (``cutoff`` if no existing office reaches it): on the national 250 m grid with 4 500 sites
    that is ~20× fewer pairs than a 90-min cutoff, and exact for points beyond it.
    """
    from siting import traveltime

    timer = timer or Timer()
    key = matrix_key(network, inputs, cutoff, floor)
    hit = _MATRICES.get(key)
    if hit is not None:
        return replace(hit, cache="memo", seconds=0.0)
    path = cache_dir() / "matrices" / f"{key}.npz"
    if use_disk and path.exists():
        try:
            with timer.stage("drive-time matrix"), np.load(path, allow_pickle=False) as z:
                cost = sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                tm = TimeMatrix(cost, z["before"], float(cutoff), int(z["far"][0]), int(z["far"][1]), key, 0.0, "disk")
            _MATRICES.put(key, tm)
            return tm
        except (OSError, KeyError, ValueError):
            log.warning("ignoring unreadable matrix cache %s", path)
    graph = network.graph
    t0 = time.perf_counter()
    far_demand = far_sites = 0
    if not graph.is_estimate:  # points farther than the snap threshold from any road are reported
        far_demand = int(traveltime.snap(graph, inputs.demand.geometry).far.sum())
        far_sites = int(traveltime.snap(graph, inputs.sites.geometry).far.sum())
    with timer.stage("drive-time matrix"):
        before, _ = traveltime.nearest_facility_time(graph, inputs.demand.geometry, inputs.sites.geometry[inputs.fixed])
        # + 1e-6: the nearest office itself stays in the row whatever the rounding of the two searches
        per_point = np.where(np.isfinite(before), np.maximum(before + 1e-6, floor), cutoff) if inputs.fixed.any() else cutoff
        cost = traveltime.travel_time_matrix(graph, inputs.demand.geometry, inputs.sites.geometry, cutoff=per_point)
    tm = TimeMatrix(sp.csr_array(cost), np.asarray(before, float), float(cutoff), far_demand, far_sites, key,
                    round(time.perf_counter() - t0, 3), "built")  # fmt: skip
    if use_disk:
        c = tm.cost
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, data=c.data, indices=c.indices, indptr=c.indptr, shape=np.array(c.shape), before=tm.before,
                     far=np.array([far_demand, far_sites]))  # fmt: skip
    _MATRICES.put(key, tm)
    return tm


@dataclass
class FarRows:
    """Exact times beyond the cutoff for the demand points that today's offices reach only beyond it.

    With these, the time to the nearest open office of *any* plan follows from the matrix alone:
    ``after = min(before, new sites' times)`` is exact for a point within the cutoff of today's
    offices (a new site beyond the cutoff cannot beat them), and for the others these rows hold
    every site's time without a cutoff.

    Attributes
    ----------
    rows : ndarray of int
        Demand points with ``before > cutoff``.
    cost : ndarray
        ``(len(rows), n_sites)`` minutes, ``inf`` where unreachable.
    """

    rows: np.ndarray
    cost: np.ndarray


def far_rows(network: Network, inputs: Inputs, tm: TimeMatrix, timer: Timer | None = None) -> FarRows:
    """Stage 3b (sweeps and plan analysis): uncut times for the demand rows beyond the cutoff.

    One reverse Dijkstra per distinct road node of those points (a few hundred nationally);
    cached on disk beside the matrix.
    """
    from scipy.sparse.csgraph import dijkstra

    from siting import traveltime

    timer = timer or Timer()
    rows = np.flatnonzero(~(tm.before <= tm.cutoff))
    path = cache_dir() / "matrices" / f"{tm.key}-far.npz"
    hit = _MATRICES.get(f"{tm.key}-far")
    if hit is not None:
        return hit
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                out = FarRows(z["rows"], z["cost"])
            if np.array_equal(out.rows, rows):
                _MATRICES.put(f"{tm.key}-far", out)
                return out
        except (OSError, KeyError, ValueError):
            log.warning("ignoring unreadable cache %s", path)
    graph = network.graph
    with timer.stage("far rows"):
        n_sites = len(inputs.sites)
        cost = np.full((len(rows), n_sites), np.inf)
        if len(rows) and graph.is_estimate:
            m = graph.time_matrix(_xy(inputs.demand)[rows], _xy(inputs.sites), 1e9).tocoo()
            cost[m.row, m.col] = m.data
        elif len(rows):
            d = traveltime.snap(graph, inputs.demand.geometry.iloc[rows])
            f = traveltime.snap(graph, inputs.sites.geometry)
            nodes, inv = np.unique(d.node, return_inverse=True)
            limit = float(np.max(np.where(np.isfinite(tm.before[rows]), tm.before[rows], np.inf)))
            dist = dijkstra(graph.matrix.T.tocsr(), directed=True, indices=nodes, limit=limit)  # node → demand point
            cost = dist[inv][:, f.node] + f.access_minutes[None, :] + d.access_minutes[:, None]
    out = FarRows(rows, cost)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, rows=rows, cost=cost)
    _MATRICES.put(f"{tm.key}-far", out)
    return out


# ------------------------------------------------------------------------------------------- 4 model
@dataclass
class Problem:
    """What a model needs besides the matrix, as plain arrays (no files, no geometry).

    Attributes
    ----------
    weights : ndarray
        Model weight per demand point (``demand.weight``: population, offences or a blend).
    fixed : ndarray of bool
        Existing offices (always open) per site.
    constraints : SiteConstraints
        Required/forbidden sites, group bounds, wish bonus, site names.
    demand_districts : ndarray of str
        Police district per demand point (LSCP per-district targets).
    plan : ndarray of int or None
        ``evaluate``: the site indices of the plan to score.
    """

    weights: np.ndarray
    fixed: np.ndarray
    constraints: SiteConstraints
    demand_districts: np.ndarray
    plan: np.ndarray | None = None
    capacity_weights: np.ndarray | None = None
    notes: dict = field(default_factory=dict)


def site_hits(names: list[str], inputs: Inputs, what: str) -> list[np.ndarray]:
    """Site indices (matrix columns) per scenario site name: all candidates of a municipality, or of
    a place (see :func:`siting.candidates.resolve_site`)."""
    from siting.candidates import match_sites

    return [hit + inputs.n_fixed for hit in match_sites(names, inputs.candidates, inputs.kommuner, what)]


def plan_sites(names: list[str], inputs: Inputs) -> np.ndarray:
    """``evaluate``: one site index per name (a municipality → its main place)."""
    from siting.candidates import pick_site

    return np.array([pick_site(n, inputs.candidates, inputs.kommuner, "sites") for n in names], dtype=int) + inputs.n_fixed


def build_problem(sc: Scenario, inputs: Inputs) -> Problem:
    """Stage 4a: constraints and weights for the model from the scenario (cheap, no I/O)."""
    sites = inputs.sites
    fixed = inputs.fixed
    cons = SiteConstraints(names=sites["name"].tolist(),
                           groups={"politidistrikt": sites.politidistrikt.to_numpy(str), "kommunenummer": sites.kommunenummer.to_numpy(str)})  # fmt: skip
    forbidden = np.zeros(len(sites), bool)
    required = np.zeros(len(sites), bool)
    for hit in site_hits(sc.constraints.forbidden_sites, inputs, "constraints.forbidden_sites"):
        forbidden[hit] = True  # a municipality: all its candidates
    for name, hit in zip(sc.constraints.required_sites, site_hits(sc.constraints.required_sites, inputs,
                                                                  "constraints.required_sites"), strict=True):  # fmt: skip
        if len(hit) == 1:
            required[hit] = True
        else:  # a municipality (or a place with several candidates): at least one of them opens
            group = f"required site {name}"
            cons.groups[group] = np.where(np.isin(np.arange(len(sites)), hit), "yes", "no")
            cons.min_per_group[group] = {"yes": 1}
    from siting.crime import demand_weights

    weights, weight_desc = demand_weights(inputs.demand, sc.demand.weight)
    notes = {"demand_weight": {"spec": sc.demand.weight, "formula": weight_desc}}
    if sc.demand.weight != "population":
        notes["demand_weight"]["offences"] = inputs.crime_info
    if inputs.wishes is not None:
        from siting.wishes import counts_for

        status = sites["wish_status"]
        excl = counts_for(inputs.wishes, sites.kommunenummer, sc.wishes.exclude_min_evidence).to_numpy()
        strong = counts_for(inputs.wishes, sites.kommunenummer, sc.wishes.bonus_min_evidence).to_numpy()
        declined = status.eq("declined").to_numpy() & ~fixed & excl
        premises = status.eq("asked_with_premises").to_numpy() & ~fixed & strong
        asked = status.isin(["asked", "asked_with_premises"]).to_numpy() & ~fixed & strong
        if sc.wishes.exclude_declined:
            forbidden |= declined & ~required
        scale = float(weights.sum()) / max(sc.new_offices, 1)
        bonus = np.zeros(len(sites))
        if sc.wishes.asked_with_premises == "require":
            # one site per such municipality: its first candidate (the municipality centre if present)
            first = sites[premises].drop_duplicates("kommunenummer").index.to_numpy()
            required[first] = True
        elif sc.wishes.asked_with_premises == "bonus":
            bonus = np.where(premises, sc.wishes.bonus * scale, 0.0)
        if sc.wishes.asked == "bonus":  # one bonus per municipality, on its main place
            from siting.candidates import pick_site

            for k in sorted(set(sites.kommunenummer[asked])):
                bonus[pick_site(k, inputs.candidates, inputs.kommuner, "wishes") + inputs.n_fixed] = sc.wishes.bonus * scale
        if bonus.any():
            cons.wish_bonus = bonus
        notes["wishes_policy"] = {
            "excluded_municipalities": sorted(set(sites.kommune[declined & forbidden])) if sc.wishes.exclude_declined else [],
            "bonus_municipalities": sorted(set(sites.kommune[bonus > 0])),
            "bonus_per_site": float(sc.wishes.bonus * scale) if bonus.any() else 0.0,
            "exclude_min_evidence": sc.wishes.exclude_min_evidence, "bonus_min_evidence": sc.wishes.bonus_min_evidence,
            "declined_not_counted": sorted(set(sites.kommune[status.eq("declined").to_numpy() & ~fixed & ~excl])),
        }  # fmt: skip
    cons.forbidden, cons.required = forbidden, required
    if sc.constraints.max_per_kommune is not None:
        cons.max_per_group["kommunenummer"] = sc.constraints.max_per_kommune
    if sc.constraints.max_per_district is not None:
        cons.max_per_group["politidistrikt"] = sc.constraints.max_per_district
    if sc.constraints.min_per_district is not None:
        cons.min_per_group["politidistrikt"] = sc.constraints.min_per_district
    plan = plan_sites(sc.sites, inputs) if sc.model.type == "evaluate" else None
    cap = sc.model.capacity
    cap_w = None
    if cap is not None:
        cap_w = weights if cap.measure == "weight" else inputs.demand[cap.measure].to_numpy(float)
    return Problem(weights, fixed, cons, inputs.demand.politidistrikt.to_numpy(str), plan, cap_w, notes)


def _rows_complete(tm: TimeMatrix, fixed: np.ndarray) -> bool:
    """Every row reaches its point's nearest existing office (as :func:`drive_time_matrix` builds
    them): then every site that can serve a point is in its row and no cutoff applies."""
    if not fixed.any() or not np.all(np.isfinite(tm.before)):
        return False
    from siting.models import assign_nearest

    _, t = assign_nearest(tm.cost, np.flatnonzero(fixed))
    return bool(np.all(np.abs(t - tm.before) <= 1e-6 * np.maximum(1.0, tm.before)))


def solve_model(sc: Scenario, problem: Problem, tm: TimeMatrix) -> Solution:
    """Stage 4b: solve (or evaluate) the scenario's model on the matrix. No I/O."""
    cost, w, fixed, cons = tm.cost, problem.weights, problem.fixed, problem.constraints
    T = sc.model.threshold_minutes
    solver = sc.solver
    mtype = sc.model.type
    cut = None if _rows_complete(tm, fixed) else tm.cutoff
    if mtype in ("none", "evaluate"):
        chosen = problem.plan if mtype == "evaluate" else np.array([], int)
        base = MODELS["pmedian"](cost, w, 0, fixed=fixed)
        sol = base.make_solution(np.unique(chosen), float("nan"), "evaluated", 0.0, float("nan"), 0.0, "none", None)
        sol.model = mtype
        return sol
    if mtype == "lscp":
        groups = problem.demand_districts if sc.model.target_scope == "district" else None
        m = MODELS["lscp"](cost, w, 0, fixed=fixed, constraints=cons, service_radius=T, cutoff_minutes=cut,
                           target_share=sc.model.target_share, demand_groups=groups)  # fmt: skip
        sol = m.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
        minimum = len(sol.selected)
        if sc.model.then_best and sc.new_offices > minimum:
            req2 = np.asarray(cons.required, bool).copy()
            req2[sol.selected] = True
            m2 = MODELS["mclp"](cost, w, sc.new_offices, fixed=fixed, constraints=replace(cons, required=req2), service_radius=T,
                                cutoff_minutes=cut)  # fmt: skip
            sol2 = m2.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
            sol2.stats = {**sol2.stats, "lscp_minimum_new_offices": minimum, "lscp_status": sol.status}
            return sol2
        sol.stats = {**sol.stats, "lscp_minimum_new_offices": minimum}
        return sol
    params = {"service_radius": T, "cutoff_minutes": cut}
    if mtype == "backup":
        params["backup_weight"] = sc.model.backup_weight
    if mtype == "pcenter":
        params["fixed_times"] = tm.before
    if mtype == "hybrid":
        params.update(objective_weights=sc.model.objective_weights, lexicographic=sc.model.lexicographic, solver=solver.name)
    model_cls = MODELS[mtype]
    if sc.model.capacity is not None:
        from siting.models import CAPACITATED

        model_cls = CAPACITATED[mtype]
        params.update(capacity=sc.model.capacity.max_per_office, capacity_weights=problem.capacity_weights,
                      split_demand=sc.model.capacity.split_demand)  # fmt: skip
    m = model_cls(cost, w, sc.new_offices, fixed=fixed, constraints=cons, **params)
    return m.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)


# ------------------------------------------------------------------------------------------- 5 metrics
@dataclass
class RunMetrics:
    """Stage 5 result: what the run achieved.

    Attributes
    ----------
    metrics : dict
        ``metrics.json``: headline, national/district/county/size-class before and after.
    proposals : GeoDataFrame
        One row per new site (rank order) with population served, newly within T, time saved.
    kommuner : GeoDataFrame
        Per municipality: mean time before/after, wish status, new offices.
    after : ndarray
        Minutes to the nearest open office per demand point (no cutoff).
    """

    metrics: dict
    proposals: gpd.GeoDataFrame
    kommuner: gpd.GeoDataFrame
    after: np.ndarray


PROPOSAL_COLUMNS = ["rank", "site_id", "name", "kommunenummer", "kommune", "politidistrikt", "source", "wish_status",
                    "stand_in", "pop_served", "pop_newly_covered", "time_saved_pop_min", "mean_time_saved", "geometry"]  # fmt: skip


def after_times(network: Network, inputs: Inputs, open_sites) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from the nearest open site to each demand point (no cutoff) and that site's index."""
    from siting import traveltime

    open_sites = np.asarray(open_sites, int)
    after, idx = traveltime.nearest_facility_time(network.graph, inputs.demand.geometry, inputs.sites.geometry.iloc[open_sites])
    nearest = np.where(idx >= 0, open_sites[np.maximum(idx, 0)] if len(open_sites) else -1, -1)
    return np.asarray(after, float), nearest


def headline(weights: np.ndarray, before: np.ndarray, after: np.ndarray, T: float) -> dict:
    """The headline numbers: share within T, mean, p90 and max minutes, before and after."""
    from siting.metrics import summarize

    nb, na = summarize(before, weights), summarize(after, weights)
    return {"share_within_T_before": float(weights[before <= T].sum() / weights.sum()),
            "share_within_T_after": float(weights[after <= T].sum() / weights.sum()),
            "mean_time_before": nb["mean"], "mean_time_after": na["mean"],
            "p90_before": nb["p90"], "p90_after": na["p90"], "max_before": nb["max"], "max_after": na["max"]}  # fmt: skip


def site_table(inputs: Inputs, selected, before: np.ndarray, after: np.ndarray, nearest: np.ndarray, T: float) -> gpd.GeoDataFrame:
    """Per new site (in the given order): population whose nearest office it becomes, newly within T, time saved."""
    w = inputs.weights
    off = inputs.demand["offences"].to_numpy(float) if "offences" in inputs.demand.columns else None
    rows = []
    for rank, j in enumerate(np.asarray(selected, int), start=1):
        served = nearest == j
        saved = np.where(np.isfinite(before[served]), before[served], np.nan) - after[served]
        s = inputs.sites.iloc[j]
        rows.append({
            "rank": rank, "site_id": s.site_id, "name": s["name"], "kommunenummer": s.kommunenummer, "kommune": s.kommune,
            "politidistrikt": s.politidistrikt, "source": s.source, "wish_status": s.wish_status,
            "stand_in": isinstance(s.get("stand_in"), bool | np.bool_) and bool(s.get("stand_in")),
            "pop_served": float(w[served].sum()),
            "pop_newly_covered": float(w[served & (before > T) & (after <= T)].sum()),
            "time_saved_pop_min": float(np.nansum(w[served] * saved)),
            "mean_time_saved": float(np.nansum(w[served] * saved) / w[served].sum()) if w[served].sum() else 0.0,
            "geometry": s.geometry,
        })  # fmt: skip
        if off is not None:  # reported offences (a year) newly within T through this site
            rows[-1]["offences_newly_covered"] = float(off[served & (before > T) & (after <= T)].sum())
    if not rows:
        return gpd.GeoDataFrame(columns=PROPOSAL_COLUMNS, geometry="geometry", crs=25833)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=25833)


def compute_metrics_stage(sc: Scenario, inputs: Inputs, network: Network, tm: TimeMatrix, sol: Solution) -> RunMetrics:
    """Stage 5: before/after metrics, per-proposal and per-municipality tables. No I/O."""
    from siting.metrics import compute_metrics, kommune_table

    T = sc.model.threshold_minutes
    before = tm.before
    after, nearest = after_times(network, inputs, sol.open_sites)
    demand, kommuner = inputs.demand, inputs.kommuner
    metrics = compute_metrics(demand, before, after, kommuner.set_index("kommunenummer")["population_2022"])
    graph = network.graph
    metrics = {"scenario": sc.name, "threshold_minutes": T, "network": graph.source, "is_estimate": bool(graph.is_estimate),
               "demand": describe_demand(demand), "headline": headline(inputs.weights, before, after, T), **metrics}  # fmt: skip
    proposals = site_table(inputs, sol.selected, before, after, nearest, T)
    status_by_k = _wish_status_by_kommune(kommuner, inputs.wishes)
    kom = kommuner.merge(kommune_table(demand, before, after), on="kommunenummer", how="left")
    if inputs.offences is not None:
        from siting.crime import add_per_1000, crime_metrics, kommune_crime_table

        metrics["crime"] = crime_metrics(demand, before, after, T, inputs.crime_info)
        c = metrics["crime"]["national"]
        metrics["headline"].update(share_offences_within_T_before=c["share_offences_within_T_before"],
                                   share_offences_within_T_after=c["share_offences_within_T_after"])  # fmt: skip
        kom = add_per_1000(kom.merge(kommune_crime_table(demand, before, after, T, inputs.offences), on="kommunenummer", how="left"))
    kom["wish_status"] = kom.kommunenummer.map(status_by_k).fillna("no answer on file")
    kom["offers_premises"] = kom["wish_status"].eq("asked_with_premises")
    kom["new_offices"] = kom.kommunenummer.map(proposals.groupby("kommunenummer").size() if len(proposals) else {}).fillna(0).astype(int)
    if inputs.wishes is not None:
        wanted = set(kom.kommunenummer[kom.wish_status.isin(["asked", "asked_with_premises"])])
        got = set(proposals.kommunenummer)
        declined = set(kom.kommunenummer[kom.wish_status.eq("declined")])
        metrics["wishes"] = {"asked": len(wanted), "asked_and_got_office": len(wanted & got),
                             "declined_but_got_office": len(declined & got),
                             "records": len(inputs.wishes), "records_by_evidence": inputs.wishes.evidence.value_counts().to_dict(),
                             "no_answer_on_file": int(kom.wish_status.eq("no answer on file").sum())}  # fmt: skip
        from siting.wishes import NATIONAL_AGGREGATES

        metrics["wishes"]["national_aggregates"] = NATIONAL_AGGREGATES  # shown on the map panel
    return RunMetrics(metrics, proposals, kom, after)


# ------------------------------------------------------------------------------------------- 6 outputs
def write_outputs(out: Path, sc: Scenario, scenario_path: Path, inputs: Inputs, network: Network, tm: TimeMatrix,
                  sol: Solution, result: RunMetrics, timer: Timer, keys: dict, force: bool = False,
                  t_start: float | None = None, notes: dict | None = None, analysis=None) -> Path:  # fmt: skip
    """Stage 6 (the only one that writes): the run folder, atomically.

    ``proposals.gpkg``/``.csv``, ``kommuner.csv``, ``metrics.json``, ``manifest.json``,
    ``map.html`` and ``layers.gpkg`` (from which ``siting map RUN`` redraws the map); with a
    :class:`siting.explain.PlanAnalysis`, also ``explain.csv`` (per new site), ``efficiency.json``
    and ``alternatives.csv`` when computed.
    """
    from siting import traveltime

    graph, T = network.graph, sc.model.threshold_minutes
    with timer.stage("isochrones"):
        iso_b = traveltime.isochrones(graph, inputs.sites.geometry[inputs.fixed], T)
        iso_a = traveltime.isochrones(graph, inputs.sites.geometry.iloc[sol.open_sites], T)
    sites, proposals, kom, metrics = inputs.sites, result.proposals, result.kommuner, result.metrics
    manifest = {
        "scenario": sc.name, "title": f"{sc.name}: {len(sol.selected)} new police offices", "description": sc.description,
        "scenario_file": str(Path(scenario_path)), "scenario_hash": sc.digest(), "siting_version": __version__,
        "python": platform.python_version(), "network": graph.source, "is_estimate": bool(graph.is_estimate),
        "network_info": graph.info, "demand_model": inputs.demand.attrs.get("demand_model"), "demand_points": len(inputs.demand),
        "demand": describe_demand(inputs.demand),
        "candidate_sites": len(inputs.candidates),
        "points_far_from_network": {"demand": tm.far_demand, "sites": tm.far_sites, "threshold_m": graph.spec.snap_threshold_m},
        "existing_offices": count_offices(inputs.stations), "existing_office_locations": inputs.n_fixed,
        "offices_as_of": str(inputs.stations.attrs.get("as_of")), "population_source": inputs.kommuner.attrs.get("population_source"),
        "inputs": {**inputs.sources, **({"roads": graph.info["input"]} if "input" in graph.info else {})},
        "data_sources": "data/SOURCES.md", "solver": sol.solver, "status": sol.status, "objective": sol.objective,
        "gap": sol.gap, "bound": sol.bound, "solve_runtime_s": round(sol.runtime, 3), "model": sol.model, "model_stats": sol.stats,
        "cutoff": {k: v for k, v in sol.stats.items() if k.startswith(("cutoff_", "beyond_cutoff_"))},
        "new_sites": [str(sites.site_id.iloc[j]) for j in sol.selected], "stage_keys": keys, "matrix_cache": tm.cache,
        "timings_s": timer.stages, **(notes or {}),
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
        if analysis is not None:
            analysis.sites.to_csv(tmp / "explain.csv", index=False)
            if analysis.efficiency is not None:
                e = analysis.efficiency
                metrics["efficiency"] = {k: e[k] for k in ("p", "threshold_minutes", "coverage_efficiency", "mean_time_efficiency")}
                (tmp / "efficiency.json").write_text(json.dumps(e, indent=2, ensure_ascii=False, default=float), encoding="utf-8")
            if analysis.alternatives is not None:
                analysis.alternatives.to_csv(tmp / "alternatives.csv", index=False)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False, default=float), encoding="utf-8")
        if sc.outputs.map:
            fmap = make_map(kom, st, proposals, iso_b, iso_a, metrics, manifest, demand=demand)
            write_map(fmap, tmp / "map.html")
        total = {"total": round(time.perf_counter() - t_start, 3)} if t_start is not None else {}
        manifest["timings_s"] = {**timer.stages, **total}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------------- the run
def run_scenario(path: str | Path, out: str | Path | None = None, force: bool = False, copy_map: bool = True) -> Path:
    """Run a scenario file through every stage and write its run folder; returns the folder.

    For the shipped scenarios (files in ``scenarios/``) run into the default folder (no ``out``),
    the map is also copied to ``maps/<scenario>.html`` unless ``copy_map`` is false; a run with
    ``out`` elsewhere never touches ``maps/``.
    """
    from siting.scenario import load_scenario

    sc = load_scenario(path)
    copy_map = copy_map and not out
    out = Path(out) if out else Path("runs") / sc.name
    check_output_dir(out, force=force, marker=RUN_MARKER, what="run folder")  # before any computation
    timer = Timer()
    t_start = time.perf_counter()
    inputs = load_inputs(sc, timer)
    network = load_network_stage(sc, timer)
    tm = drive_time_matrix(network, inputs, sc.network.cutoff_minutes, timer, floor=matrix_floor(sc))
    with timer.stage("model"):
        problem = build_problem(sc, inputs)
        try:
            sol = solve_model(sc, problem, tm)
        except InfeasibleError as exc:
            raise InfeasibleError(f"{Path(path).name}: {exc}") from None
    if sol.stats.get("cutoff_may_change_optimum"):
        log.warning("the %g-min drive-time cutoff may have changed the optimum (%d demand points, population %.0f, have no "
                    "open office within it); raise network.cutoff_minutes", sol.stats["cutoff_minutes"],
                    sol.stats["beyond_cutoff_points"], sol.stats["beyond_cutoff_population"])  # fmt: skip
    with timer.stage("metrics"):
        result = compute_metrics_stage(sc, inputs, network, tm, sol)
    analysis = None
    if len(sol.selected):
        from siting.explain import analyse

        with timer.stage("explain"):
            far = far_rows(network, inputs, tm, timer)
            analysis = analyse(sc, inputs, tm, far, problem, sol, with_efficiency=sc.model.type == "evaluate")
    keys = {"inputs": inputs.key, "network": network.key, "network_content": network.content_key, "matrix": tm.key}
    write_outputs(out, sc, Path(path), inputs, network, tm, sol, result, timer, keys, force=force, t_start=t_start,
                  notes=problem.notes, analysis=analysis)  # fmt: skip
    if copy_map and sc.outputs.map and sc.outputs.maps_copy and Path(path).resolve().parent == SCENARIO_DIR.resolve():
        with atomic_path(MAPS_DIR / f"{sc.name}.html") as tmpmap:
            shutil.copyfile(out / "map.html", tmpmap)
    return out
