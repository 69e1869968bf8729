"""Stage 2, network: the road graph of a run and its cache keys."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siting.network import NetworkSpec, RoadGraph
from siting.paths import cache_dir
from siting.pipeline.keys import _NETWORKS, Timer, digest
from siting.scenario import Scenario


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


def _stamp(path) -> tuple | None:
    if path is None or not Path(path).exists():
        return None
    st = os.stat(path)
    return (str(path), st.st_size, st.st_mtime_ns)


def network_key(spec: NetworkSpec, ferries: Path | None = None) -> str:
    """Cache key of the network stage: the settings and the identity of the files they resolve to
    (road links and the ferry-route table)."""
    from siting.inputs import find
    from siting.network import national_roads_path

    path = spec.path if spec.path is not None else national_roads_path()
    table = find("ferries", ferries) if spec.ferries and spec.ferry_table else None
    return digest(spec.model_dump(mode="json"), _stamp(path), _stamp(table.path if table else None), str(cache_dir()))


def network_spec(sc: Scenario) -> NetworkSpec:
    return NetworkSpec(**{**sc.network.model_dump(exclude={"cutoff_minutes"}), "path": sc.input_paths().get("roads")})


def load_network_stage(sc: Scenario, timer: Timer | None = None, spec: NetworkSpec | None = None) -> Network:
    """Stage 2: the road graph (disk cache in :func:`siting.network.build_network`, memo here);
    ``spec``: other network settings than the scenario's (the uncertainty band's networks)."""
    from siting.network import load_network

    timer = timer or Timer()
    spec = spec or network_spec(sc)
    ferries = sc.input_paths().get("ferries")
    key = network_key(spec, ferries)
    hit = _NETWORKS.get(key)
    if hit is not None:
        return hit
    with timer.stage("network"):
        graph = load_network(spec, ferries=ferries)
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
