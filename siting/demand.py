"""Demand points: where people live, from the finest real population source available.

1. **SSB 250 m population grid** (1 January 2022; the named input ``population_grid`` of
   :mod:`siting.inputs`: ``demand.grid_file`` > ``<cache>/population/NOR0250M_POP_2022.csv`` > the
   bundled ``data/population/ssb_grid_250m_2022.npz``, the same cells): SSB publishes every
   cell with 1-9 residents as 5; those cells are set to 3.806 (the mean of 1-9 cells in the
   uncensored 2019 grid) and then every municipality is rescaled to its SSB 07459 total, so the
   national total is exactly 5 425 270. Cells are assigned to municipalities by their centre and
   aggregated to ``cell_size_m`` cells within each municipality (population-weighted centroid).
   GeoTIFF grids are read with rasterio.
2. **Places fallback**: each municipality's population spread over its GeoNames places in
   proportion to their population; the remainder (people outside places) is put at the
   municipality's representative point.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import cache, resources
from siting.data.validate import read_table
from siting.errors import DataError
from siting.inputs import resolve
from siting.network.graph import file_digest
from siting.paths import cache_dir

log = logging.getLogger(__name__)

CENSORED_VALUE = 5
CENSORED_MEAN = 3.806
#: ``format`` tag of the compact grid file (``scripts/build_population_grid.py``).
GRID_FORMAT = "siting-ssb-grid-1"


def _cells(ids: np.ndarray, pop: np.ndarray, size: int) -> pd.DataFrame:
    """Cell centres from SSB cell ids (lower-left corner x = id // 10⁷ − 2 000 000, y = id % 10⁷)."""
    x = ids // 10**7 - 2_000_000 + size / 2
    y = ids % 10**7 + size / 2
    return pd.DataFrame({"x": x, "y": y, "pop": pop, "censored": pop == CENSORED_VALUE})


def read_grid(path: Path) -> pd.DataFrame:
    """Read an SSB grid (CSV ``SSBID0250M;pop_tot``, the bundled ``.npz`` or a GeoTIFF) as cell centres x, y and population."""
    if path.suffix.lower() == ".npz":
        try:
            z = cache.read_npz(path, budget_what=f"the population grid {path}")
            if str(z["format"]) != GRID_FORMAT:
                raise ValueError(f"format {z['format']}")
            if z["cell_id"].shape != z["pop"].shape or z["cell_id"].ndim != 1:
                raise ValueError("cell ids and populations do not match")
            return _cells(z["cell_id"].astype("int64"), z["pop"].astype(float), int(z["cell_size_m"]))
        except (cache.DamagedFile, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"not a population grid file ({exc}); rebuild with scripts/build_population_grid.py",
                            path=path, field="demand.grid_file") from None  # fmt: skip
    if path.suffix.lower() in (".tif", ".tiff"):
        import rasterio

        try:
            with rasterio.open(path) as src:
                resources.require(src.width * src.height * 9, f"the population grid {path} ({src.width:,} × {src.height:,} cells)",
                                  "use a smaller or coarser grid")  # fmt: skip
                band = src.read(1, masked=True)
                rows, cols = np.nonzero(~np.ma.getmaskarray(band) & (band.filled(0) > 0))
                xs, ys = rasterio.transform.xy(src.transform, rows, cols)
                return pd.DataFrame({"x": xs, "y": ys, "pop": band[rows, cols].astype(float), "censored": False})
        except rasterio.errors.RasterioError as exc:
            raise DataError(f"cannot read the population grid ({str(exc).splitlines()[0]}); give SSB's 250 m grid as CSV, "
                            "the bundled .npz or a GeoTIFF", path=path, field="demand.grid_file") from None  # fmt: skip
    df = read_table(path, "population grid", "use SSB's 250 m grid CSV (SSBID0250M;pop_tot)", sep=";")
    id_col = next((c for c in df.columns if c.upper().startswith("SSBID")), None)
    if id_col is None or "pop_tot" not in df.columns:
        raise DataError("expected columns SSBID0250M and pop_tot", path=path)
    size = int(id_col[5:9]) if id_col[5:9].isdigit() else 250
    return _cells(df[id_col].astype("int64").to_numpy(), df["pop_tot"].to_numpy(float), size)


#: Bump when the aggregation below changes what it computes.
DEMAND_CACHE_VERSION = 2


def _kommuner_fingerprint(kommuner: gpd.GeoDataFrame) -> str:
    """Hash of the municipality numbers and polygons (cells are assigned to municipalities by them)."""
    import hashlib

    import shapely

    h = hashlib.sha256("|".join(kommuner.kommunenummer.astype(str)).encode())
    for wkb in shapely.to_wkb(kommuner.geometry.values):
        h.update(wkb)
    return h.hexdigest()


def grid_demand(kommuner: gpd.GeoDataFrame, path: Path, cell_size: float = 2000.0) -> gpd.GeoDataFrame:
    """Demand points from an SSB population grid (see module docstring).

    The aggregated cells are cached (:mod:`siting.cache`) under the grid file's contents, the
    cell size and the municipality polygons.
    """
    parts = {"version": DEMAND_CACHE_VERSION, "grid": file_digest(path, full=True), "grid_name": path.name,
             "cell_size_m": float(cell_size), "kommuner": _kommuner_fingerprint(kommuner)}  # fmt: skip
    entry = cache_dir() / "demand" / f"grid-{cache.key_of(parts)}-{int(cell_size)}.npz"
    known = set(kommuner.kommunenummer.astype(str))

    def check(z: dict) -> str | None:
        n = len(z["raw"])
        if n == 0 or any(z[c].shape != (n,) for c in ("kommunenummer", "x", "y")):
            return "columns of different lengths"
        if not (np.all(np.isfinite(z["x"])) and np.all(np.isfinite(z["y"])) and np.all(z["raw"] > 0)):
            return "coordinates or populations that are not finite and positive"
        if not set(np.unique(z["kommunenummer"])) <= known:
            return "municipality numbers that are not the run's"
        return None

    z = cache.load(entry, "demand", parts, check=check)
    if z is not None:
        out = pd.DataFrame({"kommunenummer": z["kommunenummer"].astype(str).astype(object), "x": z["x"], "y": z["y"], "raw": z["raw"]})
    else:
        g = read_grid(path)
        g.loc[g["censored"], "pop"] = CENSORED_MEAN
        pts = gpd.GeoDataFrame(g, geometry=gpd.points_from_xy(g.x, g.y), crs=25833)
        joined = gpd.sjoin(pts, kommuner[["kommunenummer", "geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        lost = joined["kommunenummer"].isna()
        if lost.any():  # coastal cells just outside the generalised polygons: nearest municipality
            near = gpd.sjoin_nearest(pts[lost.to_numpy()], kommuner[["kommunenummer", "geometry"]], how="left")
            joined.loc[lost, "kommunenummer"] = near[~near.index.duplicated()]["kommunenummer"].to_numpy()
        joined["cx"] = (joined["x"] // cell_size).astype(int)
        joined["cy"] = (joined["y"] // cell_size).astype(int)
        joined["px"] = joined["x"] * joined["pop"]
        joined["py"] = joined["y"] * joined["pop"]
        agg = joined.groupby(["kommunenummer", "cx", "cy"], as_index=False)[["pop", "px", "py"]].sum()
        out = pd.DataFrame(
            {"kommunenummer": agg.kommunenummer, "x": agg.px / agg["pop"], "y": agg.py / agg["pop"], "raw": agg["pop"]}
        )
        cache.save(entry, "demand", parts, {"kommunenummer": out.kommunenummer.to_numpy(str), "x": out.x.to_numpy(float),
                                            "y": out.y.to_numpy(float), "raw": out.raw.to_numpy(float)})  # fmt: skip
    # rescale to SSB 07459 per municipality
    totals = kommuner.set_index("kommunenummer")["population_2022"]
    raw = out.groupby("kommunenummer")["raw"].transform("sum")
    out = out.assign(population=out["raw"] / raw * out["kommunenummer"].map(totals))
    missing = sorted(set(totals.index[totals > 0]) - set(out.kommunenummer))
    extra = _places_fallback(kommuner[kommuner.kommunenummer.isin(missing)], None) if missing else None
    gdf = gpd.GeoDataFrame(out.drop(columns="raw"), geometry=gpd.points_from_xy(out.x, out.y), crs=25833)
    if extra is not None:
        gdf = pd.concat([gdf, extra], ignore_index=True)
    return _finish(gdf, kommuner, f"SSB 250 m population grid 2022 ({path.name}), censored cells 5→{CENSORED_MEAN}, "
                   f"rescaled to SSB 07459 per municipality, aggregated to {cell_size:g} m", "grid", cell_size)  # fmt: skip


def _places_fallback(kommuner: gpd.GeoDataFrame, places: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    rows = []
    for k in kommuner.itertuples():
        pl = places[places.kommunenummer == k.kommunenummer] if places is not None else places
        total = float(k.population_2022)
        in_places = float(pl.population.sum()) if pl is not None and len(pl) else 0.0
        scale = min(1.0, total / in_places) if in_places else 0.0
        if pl is not None:
            for p in pl.itertuples():
                rows.append((k.kommunenummer, p.geometry.x, p.geometry.y, p.population * scale))
        rest = total - in_places * scale
        if rest > 0:
            rp = k.geometry.representative_point()
            rows.append((k.kommunenummer, rp.x, rp.y, rest))
    df = pd.DataFrame(rows, columns=["kommunenummer", "x", "y", "population"])
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.x, df.y), crs=25833)


def places_demand(kommuner: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Demand points from GeoNames places plus each municipality's remainder (fallback)."""
    gdf = _places_fallback(kommuner, places)
    return _finish(gdf, kommuner, "SSB 07459 per municipality over GeoNames places (remainder at the municipality's "
                   "representative point)", "places", None)  # fmt: skip


def _finish(gdf: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame, model: str, source: str,
            resolution_m: float | None) -> gpd.GeoDataFrame:  # fmt: skip
    attrs = kommuner.set_index("kommunenummer")[["politidistrikt", "fylke"]]
    gdf = gdf.join(attrs, on="kommunenummer")
    gdf = gdf[gdf["population"] > 0].sort_values(["kommunenummer", "x", "y"]).reset_index(drop=True)
    gdf["demand_id"] = np.arange(len(gdf))
    gdf.attrs["demand_model"] = model
    gdf.attrs["demand_source"] = source
    gdf.attrs["resolution_m"] = resolution_m
    return gdf[["demand_id", "kommunenummer", "politidistrikt", "fylke", "population", "geometry"]]


def describe(demand: gpd.GeoDataFrame) -> dict:
    """What the demand points are, for ``metrics.json`` and ``manifest.json``.

    ``source`` is ``grid`` (SSB population grid) or ``places``; ``resolution_m`` the cell size the
    250 m grid was aggregated to (None for places); ``points`` the number of demand points.
    """
    res = demand.attrs.get("resolution_m")
    return {"source": demand.attrs.get("demand_source"), "resolution_m": None if res is None else int(res), "points": len(demand)}


def build_demand(kommuner, places, source: str = "auto", grid_file: Path | None = None, cell_size: float = 2000.0):
    """Demand points for a run: the grid when available (``auto``/``grid``), else places."""
    if source in ("auto", "grid"):
        found = resolve("population_grid", grid_file, required=False)
        if found is not None:
            return grid_demand(kommuner, found.path, cell_size)
        if source == "grid":
            raise DataError("no population grid: set demand.grid_file, restore data/population/ (`git checkout data/`) "
                            "or use demand.source: places", field="demand.grid_file")  # fmt: skip
    return places_demand(kommuner, places)
