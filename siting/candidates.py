"""Candidate sites for new offices: populated places, municipality centres, offered premises, user points.

Existing offices are excluded: a candidate within ``min_distance_m`` of a station is dropped.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting.data.validate import read_table, require_columns


def build_candidates(
    kommuner: gpd.GeoDataFrame, places: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, source: str = "both",
    min_distance_m: float = 2000.0, extra_points: Path | None = None,
) -> gpd.GeoDataFrame:  # fmt: skip
    """Candidate sites with ``site_id``, ``name``, ``kommunenummer``, ``kommune``, ``politidistrikt``, ``source``, ``population`` (of the place, 0 otherwise)."""
    parts = []
    if source in ("both", "places"):
        parts.append(pd.DataFrame({"name": places.name, "kommunenummer": places.kommunenummer, "geometry": places.geometry,
                                   "source": "GeoNames place", "population": places.population}))  # fmt: skip
    if source in ("both", "kommune_centres"):
        # centre = the municipality's largest place, else a point inside its polygon
        big = places.sort_values("population", ascending=False).drop_duplicates("kommunenummer").set_index("kommunenummer")
        rows = []
        for k in kommuner.itertuples():
            if k.kommunenummer in big.index and source == "kommune_centres":
                rows.append((k.name, k.kommunenummer, big.loc[k.kommunenummer].geometry, "municipality centre (largest place)"))
            elif k.kommunenummer not in big.index:
                rows.append((k.name, k.kommunenummer, k.geometry.representative_point(), "municipality point"))
        parts.append(pd.DataFrame(rows, columns=["name", "kommunenummer", "geometry", "source"]).assign(population=0))
    if extra_points is not None:
        df = read_table(Path(extra_points), "candidate points", "give a CSV with name, lon, lat")
        require_columns(df, ["name", "lon", "lat"], Path(extra_points))
        pts = gpd.GeoSeries(gpd.points_from_xy(df.lon, df.lat), crs=4326).to_crs(25833)
        j = gpd.sjoin_nearest(gpd.GeoDataFrame(df, geometry=pts), kommuner[["kommunenummer", "geometry"]])
        parts.append(pd.DataFrame({"name": df.name, "kommunenummer": j.kommunenummer.to_numpy(), "geometry": pts,
                                   "source": f"user points ({Path(extra_points).name})", "population": 0}))  # fmt: skip
    cand = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=25833)
    xy = np.column_stack([cand.geometry.x, cand.geometry.y])
    if len(stations) and min_distance_m > 0:
        d, _ = cKDTree(np.column_stack([stations.geometry.x, stations.geometry.y])).query(xy)
        cand = cand[d >= min_distance_m]
    cand = cand.drop_duplicates(subset=["name", "kommunenummer"]).copy()
    cand = cand.join(kommuner.set_index("kommunenummer")[["politidistrikt"]].rename(columns={}), on="kommunenummer")
    cand["kommune"] = cand["kommunenummer"].map(kommuner.set_index("kommunenummer")["name"])
    cand = cand.sort_values(["kommunenummer", "name"]).reset_index(drop=True)
    cand["site_id"] = [f"cand-{i:04d}" for i in range(len(cand))]
    cand["population"] = cand["population"].fillna(0).astype(int)
    return cand[["site_id", "name", "kommunenummer", "kommune", "politidistrikt", "source", "population", "geometry"]]
