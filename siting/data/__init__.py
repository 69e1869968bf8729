"""Bundled national data: municipalities, population, centrality, places, police offices.

All loaders validate on load (geometries in EPSG:25833; tables such as ``load_centrality`` are plain
DataFrames); a broken or missing file raises :class:`siting.errors.DataError` naming the file and the fix.
"""

from .centrality import load_centrality
from .districts import POLICE_DISTRICTS, police_district_for
from .kommuner import load_kommuner, load_kommuner_geometry
from .places import load_places
from .population import fetch_population, load_population
from .stations import load_stations

__all__ = [
    "POLICE_DISTRICTS",
    "fetch_population",
    "load_centrality",
    "load_kommuner",
    "load_kommuner_geometry",
    "load_places",
    "load_population",
    "load_stations",
    "police_district_for",
]
