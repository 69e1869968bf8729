"""Straight-line drive-time estimator: the explicit fallback when no road network is available.

``minutes = straight distance × DETOUR ÷ SPEED``. The constants were fitted on the national
Kartverket N1000 graph (``benchmarks/bench_traveltime.py --calibrate``): all 61 542 ordered pairs
of GeoNames places (≥ 500 inhabitants) 10-150 km apart and within 4 h; the median time per
straight-line km is 1.318 min, i.e. 1.38 detour at 62.8 km/h. Its error is large where fjords and ferries lie between
points, which is why every output made with it is flagged as estimated.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from .graph import NetworkSpec, RoadGraph

#: Calibrated on N1000 (see module docstring); median absolute error reported in docs/network.md.
DETOUR = 1.38
SPEED_KMH = 62.8
CALIBRATION = "fitted on Kartverket N1000: median absolute error 19 %, p90 47 %, over 61 542 place pairs"


class StraightLineEstimator(RoadGraph):
    """A :class:`RoadGraph` stand-in computing times from straight-line distances."""

    def __init__(self, detour: float = DETOUR, speed_kmh: float = SPEED_KMH, spec: NetworkSpec | None = None):
        super().__init__(
            node_xy=np.zeros((0, 2)),
            matrix=sp.csr_array((0, 0)),
            source=f"ESTIMATE: straight line × {detour:g} at {speed_kmh:g} km/h (no road network; {CALIBRATION})",
            is_estimate=True,
            info={"format": "estimator", "detour": detour, "speed_kmh": speed_kmh},
            spec=spec or NetworkSpec(),
        )
        self.detour = detour
        self.speed_kmh = speed_kmh

    def _minutes(self, metres: np.ndarray) -> np.ndarray:
        return metres * self.detour / 1000.0 / (self.speed_kmh * self.spec.speed_factor) * 60.0

    def time_matrix(self, demand_xy: np.ndarray, facility_xy: np.ndarray, cutoff: float) -> sp.csr_array:
        from siting import resources

        radius = cutoff / 60.0 * self.speed_kmh * self.spec.speed_factor * 1000.0 / self.detour
        dtree, ftree = cKDTree(demand_xy), cKDTree(facility_xy)
        pairs = int(dtree.count_neighbors(ftree, radius))  # counted first: the pairs are allocated at once
        resources.require(96 * pairs, f"the estimated drive times ({len(demand_xy):,} points × {len(facility_xy):,} sites, "
                          f"{pairs:,} pairs within {cutoff:g} min)", "lower network.cutoff_minutes or use coarser demand "
                          "(demand.cell_size_m)")  # fmt: skip
        dm = dtree.sparse_distance_matrix(ftree, radius, output_type="coo_matrix")
        rows, cols, d = dm.row, dm.col, dm.data
        # sparse_distance_matrix omits exact zeros (coincident points): add them back.
        same = cKDTree(demand_xy).query_ball_tree(cKDTree(facility_xy), 1e-6)
        zr = [i for i, js in enumerate(same) for _ in js]
        zc = [j for js in same for j in js]
        rows, cols = np.r_[rows, zr].astype(int), np.r_[cols, zc].astype(int)
        vals = np.r_[self._minutes(d), np.zeros(len(zr))]
        m = sp.coo_array((vals, (rows, cols)), shape=(len(demand_xy), len(facility_xy)))
        m.sum_duplicates()
        return m.tocsr()

    def nearest(self, demand_xy: np.ndarray, facility_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d, i = cKDTree(facility_xy).query(demand_xy)
        return self._minutes(d), i.astype(int)

    def isochrones(self, facility_xy: np.ndarray, minutes: float) -> gpd.GeoDataFrame:
        radius = minutes / 60.0 * self.speed_kmh * self.spec.speed_factor * 1000.0 / self.detour
        geom = shapely.union_all(shapely.buffer(shapely.points(facility_xy), radius, quad_segs=8))
        return gpd.GeoDataFrame({"minutes": [float(minutes)]}, geometry=[geom], crs=25833)
