"""Car ferries survive osmnx simplification (issue 15 A1), on a synthetic OSM fixture."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra

from siting.network import NetworkSpec, build_network

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "osm" / "synthetic_ferry.osm"
NODES = {1: (10.00, 60.0), 3: (10.04, 60.0), 4: (10.06, 60.005), 5: (10.08, 60.005), 6: (10.10, 60.0),
         8: (10.14, 60.0), 10: (10.18, 60.02)}  # fmt: skip


def great_circle_m(a, b) -> float:
    (lon1, lat1), (lon2, lat2) = NODES[a], NODES[b]
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_009 * math.asin(math.sqrt(h))


def node_index(g, osm_id: int) -> int:
    x, y = Transformer.from_crs(4326, 25833, always_xy=True).transform(*NODES[osm_id])
    d = np.hypot(g.node_xy[:, 0] - x, g.node_xy[:, 1] - y)
    assert d.min() < 1.0, f"node {osm_id} is not a graph node"
    return int(np.argmin(d))


def test_ferry_between_degree_two_terminals_is_a_ferry_edge():
    spec = NetworkSpec(ferry_wait_minutes=15, ferry_speed_kmh=25)
    g = build_network(FIXTURE, spec, use_cache=False)
    assert g.info["ferry_edges"] == 4  # two ferries, both directions
    dist = dijkstra(g.matrix, indices=[node_index(g, 1), node_index(g, 8)])
    road = lambda m: m / 1000 / 50 * 60  # noqa: E731  tertiary, 50 km/h
    ferry_a = (great_circle_m(3, 4) + great_circle_m(4, 5) + great_circle_m(5, 6)) / 1000 / 25 * 60 + 15
    road_a, road_b = road(great_circle_m(1, 3)), road(great_circle_m(6, 8))
    assert dist[0, node_index(g, 3)] == pytest.approx(road_a, rel=1e-3)
    assert dist[0, node_index(g, 6)] == pytest.approx(road_a + ferry_a, rel=1e-3)
    assert dist[0, node_index(g, 8)] == pytest.approx(road_a + ferry_a + road_b, rel=1e-3)
    assert dist[1, node_index(g, 10)] == pytest.approx(20 + 15, rel=1e-6)  # tagged duration 00:20 + wait
    no_ferries = build_network(FIXTURE, NetworkSpec(ferries=False), use_cache=False)
    assert no_ferries.info["ferry_edges"] == 0 and no_ferries.n_nodes == 2  # only road A (largest component)


def test_network_info_shows_the_ferry_edges(tmp_path):
    env = {"SITING_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "siting", "network", "info", str(FIXTURE)], capture_output=True, text=True,
                       env=env, cwd=Path(__file__).resolve().parents[1], timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "ferry_edges: 4" in r.stdout
