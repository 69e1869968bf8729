"""Rebuild ``data/roads/ferries.csv`` from the sourced ferry routes in ``scripts/sources/ferry_routes_*.csv``.

Each sourced row is one car-ferry route: its terminals (and intermediate stops) as end points of
the Kartverket N1000 ferry links (WGS84), the published crossing time and daytime headway or
departures per day, the period of the timetable and one source URL (operator timetables and
pages, encyclopedia articles, guides, local news). The script validates every row (schema,
numbers, unique route ids, each terminal and stop within 300 m of an N1000 ferry-link end point of
the bundled roads, and a ferry-link path between them) and writes the bundled table with the
columns the network builder reads.

Usage::

    python scripts/build_ferries.py [--roads data/roads/n1000_veglenke.npz] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from siting.errors import DataError
from siting.io import atomic_path
from siting.network.ferries import (
    SOURCE_COLUMNS,
    TABLE_COLUMNS,
    match_routes,
    merge_endpoints,
    read_ferry_table,
)
from siting.network.graph import NetworkSpec
from siting.network.kartverket import CAR_FERRY, read_road_links
from siting.paths import DATA_DIR

SOURCES = Path(__file__).resolve().parent / "sources"


def ferry_links(roads: Path):
    """End points ``(m, 2, 2)``, lengths and merged landing ids of the N1000 car-ferry links."""
    links = read_road_links(roads)
    ferries = links[links["typeVeg"] == CAR_FERRY].geometry.values
    coords, idx = shapely.get_coordinates(ferries, return_index=True)
    first = np.r_[0, np.flatnonzero(np.diff(idx)) + 1]
    last = np.r_[first[1:] - 1, len(coords) - 1]
    ends = np.stack([coords[first, :2], coords[last, :2]], axis=1)
    return ends, shapely.length(ferries), merge_endpoints(ends, NetworkSpec().junction_tolerance_m)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roads", type=Path, default=DATA_DIR / "roads" / "n1000_veglenke.npz")
    parser.add_argument("--out", type=Path, default=DATA_DIR / "roads" / "ferries.csv")
    args = parser.parse_args()
    files = sorted(SOURCES.glob("ferry_routes_*.csv"))
    if not files:
        raise SystemExit(f"no sourced rows: {SOURCES}/ferry_routes_*.csv")
    parts = []
    for f in files:
        header = f.open(encoding="utf-8").readline().strip().split(",")
        if tuple(header) != SOURCE_COLUMNS:
            raise DataError(f"header must be exactly {','.join(SOURCE_COLUMNS)}", path=f)
        parts.append(read_ferry_table(f, SOURCE_COLUMNS).assign(_file=f.name))
    rows = pd.concat(parts, ignore_index=True)
    dup = rows["route_id"][rows["route_id"].duplicated()]
    if len(dup):
        raise DataError(f"route id {dup.iloc[0]!r} appears in two source files", field="route_id")
    ends, lengths, landing = ferry_links(args.roads)
    matching = match_routes(rows, ends, lengths, landing)
    if matching.unmatched:
        for rid, why in matching.unmatched:
            print(f"{rows.loc[rows.route_id == rid, '_file'].iloc[0]}: route {rid}: {why}", file=sys.stderr)
        return 2
    covered = sorted({i for m in matching.routes for i in m.links})
    out = rows.sort_values("route_id")[list(TABLE_COLUMNS)].copy()
    for c in ("lon_a", "lat_a", "lon_b", "lat_b"):
        out[c] = out[c].map("{:.5f}".format)
    for c in ("crossing_minutes", "headway_minutes", "departures_per_day"):
        out[c] = out[c].map(lambda x: "" if np.isnan(x) else f"{x:g}")
    with atomic_path(args.out) as tmp:
        out.to_csv(tmp, index=False, lineterminator="\n")
    print(f"wrote {args.out}: {len(out)} routes from {len(files)} source files, "
          f"covering {len(covered)} of {len(lengths)} N1000 ferry links")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
