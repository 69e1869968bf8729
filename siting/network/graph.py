"""The road graph every drive-time computation runs on, and the settings that build it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from siting.errors import DataError
from siting.io import atomic_path

#: A file name in a scenario (YAML text), while every other field of the scenario schema is strict.
UserPath = Annotated[Path, Field(strict=False)]


class NetworkSpec(BaseModel):
    """How to obtain and weight the road network (the ``network:`` section of a scenario).

    Attributes
    ----------
    path : Path or None
        OSM extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``), Kartverket road links (``.gpkg``, e.g.
        N1000 ``Veglenke.gpkg``) or a built graph (``.npz``). ``None``: the national N1000 layer
        resolved by :mod:`siting.inputs` (a file fetched with ``siting data fetch roads``, else the
        bundled ``data/roads/n1000_veglenke.npz``).
    ferries : bool
        Use car ferries (OSM ``route=ferry``, N1000 ``typeVeg=bilferje``).
    ferry_wait : "half_headway", "full_headway" or float
        Expected wait when boarding a ferry route of the sourced table (``data/roads/ferries.csv``,
        input ``ferries``): half its daytime headway, the whole headway (the ferry just missed), or
        these fixed minutes for every sourced route.
    ferry_table : bool
        Use the sourced ferry table for the Kartverket ferry links it covers (crossing time from the
        table, one wait per crossing); ``false``: the flat rule below for every link.
    ferry_wait_minutes : float
        Waiting penalty per ferry link without a sourced route (and per OSM ferry).
    ferry_speed_kmh : float
        Crossing speed when neither the table nor the data give a crossing time.
    speed_factor : float
        Multiplies every road speed (e.g. 0.9 for winter driving); emergency driving > 1.
    junction_tolerance_m : float
        Kartverket links: end points closer than this are joined into one junction.
    access_speed_kmh, access_detour : float
        Off-network access (from a point to its nearest node): straight distance × detour at this speed.
    snap_threshold_m : float
        Points farther than this from the network are flagged.
    allow_estimate : bool
        When no road network is available, fall back to the calibrated straight-line estimator
        (flagged in every output) instead of stopping with an error.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    path: UserPath | None = None
    ferries: bool = True
    ferry_wait: Literal["half_headway", "full_headway"] | float = "half_headway"
    ferry_table: bool = True
    ferry_wait_minutes: float = Field(15.0, ge=0, le=720)
    ferry_speed_kmh: float = Field(25.0, ge=1, le=100)
    speed_factor: float = Field(1.0, ge=0.25, le=4)
    junction_tolerance_m: float = Field(500.0, ge=0, le=5000)
    access_speed_kmh: float = Field(30.0, ge=1, le=200)
    access_detour: float = Field(1.3, ge=1, le=10)
    snap_threshold_m: float = Field(5000.0, gt=0, le=100_000)
    allow_estimate: bool = True

    @field_validator("ferry_wait", mode="before")
    @classmethod
    def _ferry_wait(cls, v):
        if v in ("half_headway", "full_headway"):
            return v
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 720:
            raise ValueError(f"{v!r}: use half_headway, full_headway or a number of minutes from 0 to 720")
        return float(v)

    def weighting_key(self) -> dict:
        """Settings that change the built graph (for the cache key)."""
        return self.model_dump(
            include={"ferries", "ferry_wait", "ferry_table", "ferry_wait_minutes", "ferry_speed_kmh", "speed_factor",
                     "junction_tolerance_m", "access_speed_kmh", "access_detour"}
        )


@dataclass
class RoadGraph:
    """A directed road graph with travel times in minutes.

    Attributes
    ----------
    node_xy : numpy.ndarray
        ``(n, 2)`` node coordinates, EPSG:25833.
    matrix : scipy.sparse.csr_array
        ``(n, n)`` directed edge travel times in minutes (stored entries only; strictly positive).
    source : str
        Human-readable description, e.g. ``"Kartverket N1000 (…), ferries on, wait 15 min"``.
    is_estimate : bool
        ``True`` for the straight-line fallback estimator (no real road network).
    snappable : numpy.ndarray
        ``(n,)`` bool, nodes points may be snapped to (not ferry mid-points).
    info : dict
        Build statistics (nodes, edges, dropped components, ferry links, settings).
    """

    node_xy: np.ndarray
    matrix: sp.csr_array
    source: str
    is_estimate: bool = False
    snappable: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    spec: NetworkSpec = field(default_factory=NetworkSpec)

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The graph as named arrays (what :meth:`save` and the build cache store)."""
        m = self.matrix.tocsr()
        meta = {"source": self.source, "info": self.info, "spec": self.spec.model_dump(mode="json")}
        return {"node_xy": self.node_xy, "indptr": m.indptr, "indices": m.indices, "data": m.data,
                "snappable": self.snappable if self.snappable is not None else np.ones(self.n_nodes, bool),
                "meta": np.array(json.dumps(meta, default=str))}  # fmt: skip

    @classmethod
    def from_arrays(cls, z: dict) -> RoadGraph:
        """The graph of :meth:`to_arrays`; ``ValueError`` with the reason when they are not a consistent graph."""
        problem = graph_problem(z)
        if problem:
            raise ValueError(problem)
        n = z["node_xy"].shape[0]
        meta = json.loads(str(z["meta"]))
        return cls(node_xy=z["node_xy"], matrix=sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=(n, n)),
                   source=str(meta["source"]), snappable=z["snappable"].astype(bool), info=dict(meta["info"]),
                   spec=NetworkSpec(**meta["spec"]))  # fmt: skip

    def save(self, path: str | Path) -> None:
        """Store the graph as a compressed ``.npz`` (atomic)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **self.to_arrays())

    @classmethod
    def load(cls, path: str | Path) -> RoadGraph:
        """Load a graph written by :meth:`save`; a damaged file is one :class:`DataError` line."""
        from siting.cache import DamagedFile, read_npz

        try:
            return cls.from_arrays(read_npz(Path(path), budget_what=f"the road graph {path}"))
        except (DamagedFile, ValueError, KeyError, TypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"cannot read as a road network ({reason}); give Kartverket road links (.gpkg, or the .npz of "
                            "scripts/build_roads.py), an OSM extract or a graph saved by `siting network build --out`",
                            path=path) from None  # fmt: skip


def graph_problem(z: dict) -> str | None:
    """Why the arrays of :meth:`RoadGraph.to_arrays` are not a consistent graph (None if they are)."""
    missing = [k for k in ("node_xy", "indptr", "indices", "data", "snappable", "meta") if k not in z]
    if missing:
        return f"missing array(s) {', '.join(missing)}"
    xy, indptr, indices, data = z["node_xy"], z["indptr"], z["indices"], z["data"]
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.dtype.kind != "f":
        return "node coordinates are not an (n, 2) array of numbers"
    n = xy.shape[0]
    if indptr.ndim != 1 or len(indptr) != n + 1 or indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        return "edge index does not match the nodes"
    if indptr[0] != 0 or indptr[-1] != len(indices) or len(indices) != len(data) or np.any(np.diff(indptr) < 0):
        return "edge index is inconsistent"
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        return "an edge points to a node that does not exist"
    if data.dtype.kind != "f" or not np.all(np.isfinite(data)) or np.any(data <= 0):
        return "edge times are not finite positive minutes"
    if z["snappable"].shape != (n,):
        return "snappable flags do not match the nodes"
    return None


def edges_to_matrix(n: int, u: np.ndarray, v: np.ndarray, minutes: np.ndarray) -> sp.csr_array:
    """Directed edges to a CSR matrix, keeping the fastest of parallel edges.

    Zero or negative times are raised to one hundredth of a second: scipy's sparse graphs treat
    an explicit zero as "no edge".
    """
    minutes = np.maximum(np.asarray(minutes, dtype=np.float64), 1e-4)
    keep = u != v
    u, v, minutes = u[keep], v[keep], minutes[keep]
    order = np.lexsort((minutes, v, u))
    u, v, minutes = u[order], v[order], minutes[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return sp.csr_array((minutes[first], (u[first], v[first])), shape=(n, n))


def largest_strong_component(
    node_xy: np.ndarray, matrix: sp.csr_array, snappable: np.ndarray
) -> tuple[np.ndarray, sp.csr_array, np.ndarray, dict]:
    """Keep the largest strongly connected component; report what was dropped."""
    from scipy.sparse.csgraph import connected_components

    n_comp, labels = connected_components(matrix, directed=True, connection="strong")
    counts = np.bincount(labels)
    main = int(np.argmax(counts))
    keep = labels == main
    idx = np.flatnonzero(keep)
    sub = matrix[idx][:, idx].tocsr()
    report = {
        "components": int(n_comp),
        "nodes_kept": int(keep.sum()),
        "nodes_dropped": int((~keep).sum()),
        "share_kept": round(float(keep.mean()), 4),
    }
    return node_xy[idx], sub, snappable[idx], report


def file_digest(path: Path, full: bool = False) -> str:
    """SHA-256 of a file (the first 16 hex digits, or all 64 with ``full``), for cache keys."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest() if full else h.hexdigest()[:16]
