"""Chain contraction and the contracted drive-time engine: exact against plain Dijkstra on synthetic graphs
(two-way chains, loops, a ring, one-way streets, unequal two-way times, parallel edges)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from siting import traveltime as tt
from siting.network import NetworkSpec, RoadGraph
from siting.network.contract import contract
from siting.network.graph import edges_to_matrix


def synthetic_road_graph(seed: int, n_junctions: int = 12, one_way: bool = False) -> RoadGraph:
    """Synthetic junctions joined by chains of 0-6 interior vertices (some loops), plus a separate
    ring joined to the rest by one road; optionally a few one-way and unequal-time edges."""
    rng = np.random.default_rng(seed)
    u, v, w = [], [], []
    n = n_junctions

    def road(a, b, t, two_way=True, back=None):
        u.append(a), v.append(b), w.append(t)
        if two_way:
            u.append(b), v.append(a), w.append(t if back is None else back)

    for a in range(n_junctions):  # a connected skeleton
        b = (a + 1) % n_junctions
        chain = [a] + list(range(n, n + rng.integers(0, 6))) + [b]
        n = max(n, max(chain[1:-1], default=n - 1) + 1)
        for x, y in zip(chain[:-1], chain[1:], strict=True):
            road(x, y, float(rng.uniform(0.5, 5)))
    for _ in range(n_junctions):  # extra chains, some loops back to the same junction
        a, b = rng.integers(0, n_junctions, 2)
        k = int(rng.integers(1, 5))
        chain = [a] + list(range(n, n + k)) + [b]
        n += k
        for x, y in zip(chain[:-1], chain[1:], strict=True):
            road(x, y, float(rng.uniform(0.5, 5)))
    ring = list(range(n, n + 5))  # a ring of degree-2 nodes hanging off junction 0 by one road
    n += 5
    for x, y in zip(ring, ring[1:] + ring[:1], strict=True):
        road(x, y, float(rng.uniform(0.5, 5)))
    road(0, ring[0], 1.0)
    if one_way:
        for _ in range(4):
            k = int(rng.integers(0, len(u)))
            road(u[k], v[k], 0.7, two_way=False)  # a one-way shortcut
        k = int(rng.integers(0, len(u) // 2)) * 2
        w[k] = w[k] * 1.5  # unequal times the two ways
    xy = rng.uniform(0, 50_000, (n, 2))
    m = edges_to_matrix(n, np.array(u), np.array(v), np.array(w))
    return RoadGraph(node_xy=xy, matrix=m, source="synthetic", snappable=np.ones(n, bool), spec=NetworkSpec())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("one_way", [False, True])
def test_contracted_times_equal_dijkstra(seed, one_way):
    g = synthetic_road_graph(seed, one_way=one_way)
    c = contract(g.matrix)
    assert c.n_core < g.n_nodes
    full = dijkstra(g.matrix, directed=True)
    nodes = np.arange(g.n_nodes)
    eng = tt._Engine(g, nodes, nodes)
    for limit in (np.inf, 6.0):
        s, t, v = eng.pairs(nodes, limit)
        got = np.full(full.shape, np.inf)
        got[s, t] = v
        ref = np.where(full <= limit, full, np.inf)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


def test_matrix_with_access_times_and_per_point_cutoffs():
    g = synthetic_road_graph(3)
    rng = np.random.default_rng(1)
    dem = rng.uniform(0, 50_000, (40, 2))
    fac = rng.uniform(0, 50_000, (9, 2))
    d, f = tt.snap(g, dem), tt.snap(g, fac)
    full = dijkstra(g.matrix, directed=True)[f.node][:, d.node].T + d.access_minutes[:, None] + f.access_minutes[None, :]
    cut = rng.uniform(5, 40, len(dem))
    for cutoff in (25.0, cut):
        for workers in (1, 2):
            m = tt.travel_time_matrix(g, dem, fac, cutoff=cutoff, workers=workers).toarray()
            ref = np.where(full <= np.broadcast_to(cutoff, (len(dem),))[:, None], full, 0.0)
            np.testing.assert_allclose(m, ref, rtol=0, atol=1e-9)


def test_pure_ring_and_threaded_batches(monkeypatch):
    n = 7  # a graph that is one ring of degree-2 nodes keeps one node as core
    u = np.arange(n)
    v = (u + 1) % n
    w = np.linspace(1, 2, n)
    m = edges_to_matrix(n, np.r_[u, v], np.r_[v, u], np.r_[w, w])
    assert contract(m).n_core == 1
    g = RoadGraph(node_xy=np.c_[np.arange(n) * 1000.0, np.zeros(n)], matrix=m, source="synthetic ring",
                  snappable=np.ones(n, bool), spec=NetworkSpec())  # fmt: skip
    monkeypatch.setattr(tt, "BATCH", 2)  # several batches on two threads, results in order
    got = tt.travel_time_matrix(g, g.node_xy, g.node_xy, cutoff=1e9, workers=2).toarray()
    np.testing.assert_allclose(got, dijkstra(m, directed=True).T, atol=1e-9)
