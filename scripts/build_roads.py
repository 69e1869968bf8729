"""Rebuild ``data/roads/n1000_veglenke.npz`` from Kartverket N1000 road links (CC BY 4.0, © Kartverket).

Input: Kartverket N1000 Samferdsel, layer ``Veglenke`` (Geonorge download
``Basisdata_0000_Norge_25833_N1000Samferdsel_GML.zip``, or the GeoPackage written by
``siting data fetch roads``); by default the identical reference copy
``../shared/data/n1000/Veglenke.gpkg``. Keeps what the graph builder
(``siting.network.kartverket``) uses, nothing else: the links for cars (``typeVeg`` enkelBilveg)
and car ferries (bilferje), their ``typeVeg``, ``vegkategori`` and ``motorvegtype``, and their
EPSG:25833 vertices. The published coordinates have centimetre precision, so they are stored as
int32 centimetres, delta-encoded over the vertex sequence (lossless: the graph built from the
bundle equals the graph built from the original).

Usage::

    python scripts/build_roads.py [--roads Veglenke.gpkg] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from siting.io import atomic_path
from siting.network.kartverket import encode_road_links, read_road_links
from siting.paths import DATA_DIR, shared_data_dir


def main() -> None:
    shared = shared_data_dir()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roads", type=Path, default=shared / "n1000" / "Veglenke.gpkg" if shared else None,
                        required=shared is None, help="Kartverket Veglenke (default ../shared/data/n1000/Veglenke.gpkg)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DATA_DIR / "roads" / "n1000_veglenke.npz")
    args = parser.parse_args()
    links = read_road_links(args.roads)
    arrays = encode_road_links(links)
    with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    print(f"wrote {args.out}: {len(links):,} links, {len(arrays['xy_cm_delta']):,} vertices")


if __name__ == "__main__":
    main()
