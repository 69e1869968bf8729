"""Reader for the OR-Library p-median test problems (Beasley 1985), the classic exactness benchmark.

A file ``pmedN.txt`` holds ``n m p`` and then ``m`` undirected edges ``i j cost`` (1-based
vertices); every vertex is a demand point of weight 1 and a candidate site, and the cost between
two vertices is their shortest-path distance. Where an edge is listed twice the last cost counts
(the OR-Library notes). Copies of pmed1–10 and pmed35–40 are in ``benchmarks/data``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import shortest_path

# published optima (OR-Library pmedopt)
OPTIMA = {f"pmed{k}": v for k, v in enumerate(
    [5819, 4093, 4250, 3034, 1355, 7824, 5631, 4445, 2734, 1255, 7696, 6634, 4374, 2968, 1729, 8162, 6999, 4809, 2845,
     1789, 9138, 8579, 4619, 2961, 1828, 9917, 8307, 4498, 3033, 1989, 10086, 9297, 4700, 3013, 10400, 9934, 5057, 11060,
     9423, 5128], start=1)}  # fmt: skip


def read_pmed(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an OR-Library p-median file (plain or ``.gz``); return the ``(n, n)`` distance matrix and ``p``."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        a = np.array(fh.read().split(), dtype=np.int64)
    n, m, p = (int(v) for v in a[:3])
    edges = a[3 : 3 + 3 * m].reshape(-1, 3)
    lo, hi = np.minimum(edges[:, 0], edges[:, 1]) - 1, np.maximum(edges[:, 0], edges[:, 1]) - 1
    _, last = np.unique((lo * n + hi)[::-1], return_index=True)  # the last listing of each vertex pair
    keep = len(edges) - 1 - last
    graph = np.zeros((n, n))
    graph[lo[keep], hi[keep]] = graph[hi[keep], lo[keep]] = edges[keep, 2]
    return shortest_path(graph, directed=False), p
