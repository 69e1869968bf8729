"""Reader for TSPLIB95 ``EUC_2D`` instances used as p-median benchmarks (every city a client and a site).

A file ``NAME.tsp`` (plain or ``.gz``) holds a header (``NAME``, ``DIMENSION``, ``EDGE_WEIGHT_TYPE :
EUC_2D``) and a ``NODE_COORD_SECTION`` of ``index x y`` lines (Reinelt 1991). The p-median literature on
these instances (Duran-Mateluna, Alès & Elloumi 2023, and the García, Labbé & Marín 2011 line of work
it compares with) uses the **floored** Euclidean distance ``⌊√((xᵢ−xⱼ)² + (yᵢ−yⱼ)²)⌋`` (``rounding
="floor"``, the default here), not TSPLIB's own ``nint`` convention for tours (``rounding="nint"``);
with floored distances this project's exact solver proves the published rl1304 optima of :data:`OPTIMA`
(``benchmarks/bench_tsplib.py``; p = 10 reaches the optimum but not yet its proof within the target). Copies of rl1304 and fl1400 are in ``benchmarks/data``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

# Published optima, floored Euclidean distances: rl1304 from Duran-Mateluna, Alès & Elloumi (2023), "An efficient
# Benders decomposition for the p-median problem", European Journal of Operational Research, arXiv:2111.13405,
# Table 2. No published fl1400 optimum with this convention was found (benchmarks report the proven bound).
OPTIMA = {
    "rl1304": {5: 3099073, 10: 2134295, 20: 1412108, 50: 795012, 100: 491639, 200: 268573, 300: 177326, 400: 128332,
               500: 97024},
}  # fmt: skip


def read_tsp(path: str | Path) -> np.ndarray:
    """Read the coordinates of a TSPLIB ``EUC_2D`` file (plain or ``.gz``); return an ``(n, 2)`` float array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    header, k = {}, 0
    while k < len(lines) and not lines[k].strip().startswith("NODE_COORD_SECTION"):
        key, _, value = lines[k].partition(":")
        header[key.strip().upper()] = value.strip()
        k += 1
    if header.get("EDGE_WEIGHT_TYPE") != "EUC_2D" or k == len(lines):
        raise ValueError(f"{path}: expected a TSPLIB EUC_2D file with a NODE_COORD_SECTION")
    n = int(header["DIMENSION"])
    rows = []
    for line in lines[k + 1 :]:
        if line.strip() in ("EOF", ""):
            break
        rows.append(line.split()[1:3])
    xy = np.array(rows, dtype=float)
    if xy.shape != (n, 2):
        raise ValueError(f"{path}: DIMENSION is {n} but {len(xy)} coordinates were read")
    return xy


def distances(xy: np.ndarray, rounding: str = "floor") -> np.ndarray:
    """All-pairs Euclidean distances of ``xy``: ``floor`` (p-median literature) or ``nint`` (TSPLIB tours)."""
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    if rounding == "floor":
        return np.floor(d)
    if rounding == "nint":
        return np.floor(d + 0.5)
    raise ValueError(f"rounding must be 'floor' or 'nint', not {rounding!r}")
