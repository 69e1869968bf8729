"""Shared set-up for the benchmarks: national N1000 network and real demand/facility points."""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager

import numpy as np

from siting.demand import read_grid
from siting.inputs import find
from siting.network import build_network


def need_national_data():
    """The national road links and SSB 250 m grid as a run resolves them (cache, else the bundle)."""
    roads, grid = find("roads"), find("population_grid")
    if roads is None or grid is None:
        sys.exit("skipped: needs the national N1000 road links and the SSB 250 m grid (bundled under data/)")
    return roads.path, grid.path


def demand_points(grid, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` populated SSB 250 m cells (centres, EPSG:25833), drawn with a fixed seed, and their population."""
    g = read_grid(grid)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(g), size=n, replace=False)  # random order: any split is spread over the country
    return g[["x", "y"]].to_numpy()[idx], g["pop"].to_numpy()[idx]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label: str, out: dict):
    t = time.perf_counter()
    yield
    out[label] = time.perf_counter() - t
    print(f"{label:<45s} {out[label]:8.2f} s   (peak RSS {peak_rss_mb():7.0f} MB)", flush=True)


def national_graph():
    roads, grid = need_national_data()
    return build_network(roads), grid
