"""The 356 municipalities of 2020-2023 (the structure the ministry wrote to in February 2022)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from siting.errors import DataError
from siting.inputs import resolve
from siting.paths import DATA_DIR

from .districts import POLICE_DISTRICTS
from .population import NATIONAL_TOTAL_2022, load_population
from .validate import (
    read_vector,
    require_columns,
    require_in_norway,
    require_no_missing,
    require_unique,
    require_valid_geometry,
    to_25833,
)

KOMMUNER_PATH = DATA_DIR / "kommuner" / "kommuner.gpkg"
COLUMNS = ["kommunenummer", "name", "fylkesnummer", "fylke", "politidistrikt"]
FIX = "restore it with `git checkout data/kommuner` or rebuild with scripts/build_kommuner.py"


def load_kommuner_geometry(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Load the municipality polygons and attributes, without population (EPSG:25833)."""
    p = resolve("kommuner", path).path
    gdf = read_vector(p, "municipality file", FIX)
    require_columns(gdf, COLUMNS, p)
    gdf["kommunenummer"] = gdf["kommunenummer"].astype(str).str.zfill(4)
    gdf["fylkesnummer"] = gdf["fylkesnummer"].astype(str).str.zfill(2)
    require_no_missing(gdf, COLUMNS, p)
    require_unique(gdf, "kommunenummer", p)
    bad = gdf[~gdf["politidistrikt"].isin(POLICE_DISTRICTS)]
    if len(bad):
        raise DataError(
            f"municipality {bad.kommunenummer.iloc[0]}: unknown politidistrikt {bad.politidistrikt.iloc[0]!r} "
            f"(allowed: {', '.join(POLICE_DISTRICTS)})",
            path=p,
            field="politidistrikt",
        )
    gdf = to_25833(gdf, p)
    require_valid_geometry(gdf, p, "kommunenummer")
    require_in_norway(gdf, p, "kommunenummer")
    return gdf.sort_values("kommunenummer").reset_index(drop=True)


def load_kommuner(path: str | Path | None = None, population: str | Path | None = None) -> gpd.GeoDataFrame:
    """Load the 356 municipalities with SSB population (1 January 2022).

    Parameters
    ----------
    path : path, optional
        Municipality GeoPackage; defaults to the bundled ``data/kommuner/kommuner.gpkg``.
    population : path, optional
        SSB 07459 table; defaults to :func:`siting.data.population.resolve_population_path`.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:25833; columns ``kommunenummer``, ``name``, ``fylkesnummer``, ``fylke``,
        ``politidistrikt``, ``population_2022``, ``geometry``.
    """
    gdf = load_kommuner_geometry(path)
    pop = load_population(population)
    merged = gdf.merge(pop, on="kommunenummer", how="left")
    missing = merged[merged["population_2022"].isna()]
    if len(missing):
        raise DataError(
            f"no population for municipality {missing.kommunenummer.iloc[0]} ({missing.name.iloc[0]}); "
            "the table must be SSB 07459 for the 2020-2023 municipality structure",
            path=pop.attrs.get("source"),
        )
    merged["population_2022"] = merged["population_2022"].astype("int64")
    total = int(merged["population_2022"].sum())
    if len(merged) == 356 and total != NATIONAL_TOTAL_2022:
        raise DataError(
            f"population total {total:,} differs from SSB's {NATIONAL_TOTAL_2022:,} for 1 January 2022; "
            "re-fetch the table",
            path=pop.attrs.get("source"),
        )
    merged.attrs["population_source"] = pop.attrs.get("source")
    return merged
