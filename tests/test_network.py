"""Road graphs and the drive-time engine: hand-checked times, real OSM and N1000 builds, cache, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from siting import traveltime as tt
from siting.errors import DataError
from siting.network import NetworkSpec, RoadGraph, StraightLineEstimator, build_network
from siting.network.graph import edges_to_matrix

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture
def synthetic_graph():
    """Synthetic 5-node graph (EPSG:25833 metres): a one-way street 0→1, a two-way road 1-2,
    a ferry 2-3 (10 min crossing + 15 min wait = 25), and a road 3-4."""
    xy = np.array([[0, 0], [1000, 0], [2000, 0], [6000, 0], [7000, 0]], float)
    u = np.array([0, 1, 2, 2, 3, 3, 4])
    v = np.array([1, 2, 1, 3, 2, 4, 3])
    w = np.array([2.0, 3.0, 3.0, 25.0, 25.0, 1.0, 1.0])
    spec = NetworkSpec(access_speed_kmh=30, access_detour=1.0)
    return RoadGraph(node_xy=xy, matrix=edges_to_matrix(5, u, v, w), source="synthetic", snappable=np.ones(5, bool), spec=spec)


def test_hand_checked_times_with_ferry_and_one_way(synthetic_graph):
    g = synthetic_graph
    # facility at node 0, demand at every node: 0, 2, 5, 30 (ferry), 31
    m = tt.travel_time_matrix(g, g.node_xy, g.node_xy[[0]], cutoff=60).toarray().ravel()
    np.testing.assert_allclose(m, [0, 2, 5, 30, 31])
    # the one-way street: from node 1 node 0 is unreachable
    m1 = tt.travel_time_matrix(g, g.node_xy[[0]], g.node_xy[[1]], cutoff=60)
    assert m1.nnz == 0
    # a 0.0 entry is stored (reachable), absent means beyond the cutoff
    m2 = tt.travel_time_matrix(g, g.node_xy, g.node_xy[[0]], cutoff=10)
    assert m2.nnz == 3 and m2[0, 0] == 0.0


def test_access_time_added_for_off_network_points(synthetic_graph):
    # 500 m north of node 0 at 30 km/h straight = 1 min, at both ends
    m = tt.travel_time_matrix(synthetic_graph, [[1000, 500]], [[0, 500]], cutoff=60).toarray()
    np.testing.assert_allclose(m, [[1 + 2 + 1]])
    s = tt.snap(synthetic_graph, [[0, 10_000]])
    assert s.far[0] and s.distance_m[0] == pytest.approx(10_000)


def test_nearest_facility_and_unreachable(synthetic_graph):
    g = synthetic_graph
    t, idx = tt.nearest_facility_time(g, g.node_xy, g.node_xy[[1, 4]])
    np.testing.assert_allclose(t, [np.inf, 0, 3, 1, 0])
    assert list(idx) == [-1, 0, 0, 1, 1]


def test_matrix_equals_networkx(synthetic_graph):
    import networkx as nx

    g = synthetic_graph
    G = nx.from_scipy_sparse_array(g.matrix, create_using=nx.DiGraph)
    for s in range(5):
        d = nx.single_source_dijkstra_path_length(G, s)
        sparse = tt.travel_time_matrix(g, g.node_xy, g.node_xy[[s]], cutoff=1e9).tocoo()
        m = np.full(5, np.inf)
        m[sparse.row] = sparse.data
        for t in range(5):
            assert m[t] == pytest.approx(d.get(t, np.inf))


def test_isochrone_covers_reachable_nodes(synthetic_graph):
    iso = tt.isochrones(synthetic_graph, synthetic_graph.node_xy[[0]], 10, resolution=250)
    from shapely.geometry import Point

    area = iso.geometry.iloc[0]
    assert area.distance(Point(2000, 0)) < 1 and area.distance(Point(0, 0)) < 1
    assert area.distance(Point(7000, 0)) > 1000  # beyond the ferry: 31 min


def test_estimator_is_flagged_and_consistent():
    est = StraightLineEstimator()
    assert est.is_estimate and "ESTIMATE" in est.source
    d = np.array([[0, 0], [10_000, 0], [0, 0]], float)
    m = tt.travel_time_matrix(est, d, [[0, 0]], cutoff=60).toarray().ravel()
    assert m[0] == 0 and m[2] == 0 and m[1] == pytest.approx(10 * est.detour / est.speed_kmh * 60)
    t, _ = tt.nearest_facility_time(est, d, [[0, 0]])
    np.testing.assert_allclose(t, m)


def test_osm_xml_build_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    path = TESTS_DIR / "fixtures" / "osm" / "oslo_east_major.osm.bz2"  # real OSM, ODbL (see its README)
    g1 = build_network(path)
    assert g1.info["cache"] == "miss" and g1.info["nodes"] > 500 and not g1.is_estimate
    g2 = build_network(path)
    assert g2.info["cache"] == "hit" and g2.matrix.nnz == g1.matrix.nnz
    # different settings, different cache entry
    assert build_network(path, NetworkSpec(speed_factor=0.8)).info["cache"] == "miss"


def test_osm_pbf_build(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    g = build_network(shared_data / "osm" / "oslo-east-filtered.osm.pbf", use_cache=False)
    assert g.info["nodes"] > 1000 and sp.issparse(g.matrix)


@pytest.mark.parametrize("content", [b"", b"<osm><way id='1'>broken", b"\x00\x01garbage"])
def test_bad_osm_file_is_a_clear_error(tmp_path, content):
    f = tmp_path / "bad.osm"
    f.write_bytes(content)
    with pytest.raises(DataError, match="bad.osm"):
        build_network(f, use_cache=False)
    with pytest.raises(DataError, match="not found"):
        build_network(tmp_path / "missing.osm.pbf")


def test_n1000_national_graph(n1000_roads, tmp_path, monkeypatch):
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    from pyproj import Transformer

    g = build_network(n1000_roads)
    assert g.info["share_kept"] > 0.98 and g.info["ferry_links"] > 200
    T = Transformer.from_crs(4326, 25833, always_xy=True)
    oslo, trondheim = T.transform(10.7522, 59.9139), T.transform(10.3951, 63.4305)
    bodo, svolvaer = T.transform(14.4049, 67.2804), T.transform(14.5681, 68.2343)
    hours = tt.travel_time_matrix(g, [trondheim], [oslo], cutoff=1000).toarray()[0, 0] / 60
    assert 6.0 < hours < 8.0  # route planners: about 6.5-7 h
    on = tt.travel_time_matrix(g, [svolvaer], [bodo], cutoff=2000).toarray()[0, 0]
    off = build_network(n1000_roads, NetworkSpec(ferries=False))
    t_off = tt.travel_time_matrix(off, [svolvaer], [bodo], cutoff=2000)
    far = tt.snap(off, [svolvaer]).far[0]
    # without ferries, Lofoten's roads fall out of the connected network: Svolvær is flagged far off it
    assert far or t_off.nnz == 0 or t_off.toarray()[0, 0] > on


@pytest.mark.parametrize("order", [(0, 1, 2, 3, 4, 5), (5, 4, 3, 2, 1, 0), (3, 0, 5, 1, 4, 2)])
def test_snap_at_a_two_level_crossing_takes_the_faster_road_whatever_the_numbering(order):
    """Synthetic: a motorway (1 km/min) and a local road (0.5 km/min) cross at one position without
    a junction; a point there snaps to the motorway node however the nodes are numbered."""
    xy = np.array([[-1000.0, 0], [0, 0], [1000, 0], [0, -1000], [0, 0], [0, 1000]])  # nodes 1 and 4 coincide
    u, v, w = np.array([0, 1, 3, 4]), np.array([1, 2, 4, 5]), np.array([1.0, 1.0, 2.0, 2.0])
    perm = np.asarray(order)  # new index of old node k is perm[k]
    new_xy = np.empty_like(xy)
    new_xy[perm] = xy
    m = edges_to_matrix(6, np.r_[perm[u], perm[v]], np.r_[perm[v], perm[u]], np.r_[w, w])
    g = RoadGraph(node_xy=new_xy, matrix=m, source="synthetic crossing", snappable=np.ones(6, bool), spec=NetworkSpec())
    s = tt.snap(g, np.array([[0.0, 0.0], [0.0, 3.0]]))
    assert s.node[0] == perm[1]
    assert s.node[1] == perm[1]  # 3 m off the crossing: both nodes equally near, still the motorway
