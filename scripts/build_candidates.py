"""Rebuild ``data/candidates/candidates.csv``: candidate localities from Kartverket N1000 and the SSB grid.

Inputs (the original products; ``--shared`` defaults to ``../shared/data``):

* Kartverket N1000 2025 ``StedsnavnTekst`` (place-name labels) and ``Tettbebyggelse`` (built-up
  areas), CC BY 4.0 "© Kartverket";
* ``airportsdata`` (PyPI, MIT, data from mwgg/Airports): aerodrome reference coordinates of the
  N1000 airports, looked up by ICAO code (``scripts/sources/airports_icao.csv``) at build time only;
* SSB population grid 250 m, 1 January 2022 (``NOR0250M_POP_2022.csv``), NLOD 2.0 "Statistisk
  sentralbyrå"; censored cells (published as 5) count as 3.806 as in ``siting.demand``.

Three sources, one row each (columns ``name, source, type, population, x, y``; x/y EPSG:25833 metres):

``n1000_place``
    Every N1000 place name of a settlement type (by, tettsted, tettbebyggelse, bydel, bygdelagBygd,
    grend, boligfelt) or an airport (flyplass), one row per ``stedsnummer``. A 1 : 1 000 000 label
    stands beside its place (median 1.8 km from the GeoNames point), so the point is moved to the
    population-weighted centre of the grid cells within 3 km of the label and snapped to the nearest
    inhabited cell (median 0.6 km from GeoNames). Airports (flyplass) are placed at the aerodrome's
    reference coordinates in the ``airportsdata`` package (MIT; ICAO code per label in
    ``scripts/sources/airports_icao.csv``): a 1 : 1 000 000 label stands 1-7 km from the airport.
``n1000_builtup``
    Every N1000 built-up area polygon: its inhabited cells' population-weighted centre, snapped to the
    nearest inhabited cell inside; named after the highest-ranked settlement label inside it nearest
    that centre (else the nearest label within 5 km). Only polygons with a geometry are used.
``ssb_cluster``
    Clusters of inhabited 250 m cells (touching, incl. diagonally), split into 2 km tiles; every
    cluster-tile with at least 100 residents gives its population-weighted centre, snapped to its
    nearest inhabited cell. Named ``<nearest N1000 settlement or GeoNames place within 2 km, else the
    municipality> (grid E/N km)`` (municipalities: ``data/kommuner``; GeoNames: ``data/places``).

``population`` is the number of residents within 1 km of the point (SSB grid 2022).

Usage::

    python scripts/build_candidates.py [--shared ../shared/data] [--out data/candidates/candidates.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from siting.data import load_kommuner_geometry, load_places
from siting.io import atomic_path
from siting.paths import DATA_DIR

SETTLEMENT_TYPES = ["by", "tettsted", "tettbebyggelse", "bydel", "bygdelagBygd", "grend", "boligfelt"]
AIRPORT_TYPES = ["flyplass"]
TYPE_RANK = {t: i for i, t in enumerate(SETTLEMENT_TYPES + AIRPORT_TYPES)}
ANCHOR_RADIUS_M = 3000.0
CLUSTER_TILE_M = 2000.0
CLUSTER_MIN_POP = 100.0
CLUSTER_LABEL_M = 2000.0
POP_RADIUS_M = 1000.0
AIRPORTS = Path(__file__).resolve().parent / "sources" / "airports_icao.csv"
AIRPORT_MAX_SHIFT_M = 8000.0  # a label farther than this from its ICAO point means a wrong mapping
CENSORED_VALUE, CENSORED_MEAN = 5, 3.806


def read_grid(path: Path) -> tuple[np.ndarray, np.ndarray]:
    g = pd.read_csv(path, sep=";")
    ids = g["SSBID0250M"].astype("int64").to_numpy()
    xy = np.column_stack([ids // 10**7 - 2_000_000 + 125, ids % 10**7 + 125]).astype(float)
    pop = g["pop_tot"].to_numpy(float)
    pop[pop == CENSORED_VALUE] = CENSORED_MEAN
    return xy, pop


def place_names(path: Path, xy: np.ndarray, pop: np.ndarray, tree: cKDTree) -> pd.DataFrame:
    s = gpd.read_file(path)
    s = s[s["navneobjekttype"].isin(TYPE_RANK)].copy()
    c = s.geometry.centroid
    s["lx"], s["ly"] = c.x, c.y
    s = s.groupby("stedsnummer", as_index=False).agg(
        name=("fulltekst", "first"), type=("navneobjekttype", "first"), lx=("lx", "mean"), ly=("ly", "mean")
    )
    label = s[["lx", "ly"]].to_numpy()
    out = label.copy()
    for i, nb in enumerate(tree.query_ball_point(label, ANCHOR_RADIUS_M)):
        if nb and s["type"].iat[i] in SETTLEMENT_TYPES:
            nb = np.asarray(nb)
            centre = (xy[nb] * pop[nb, None]).sum(0) / pop[nb].sum()
            out[i] = xy[nb[np.argmin(np.hypot(*(xy[nb] - centre).T))]]
    airport = s["type"].isin(AIRPORT_TYPES).to_numpy()
    out[airport] = airport_points(s.loc[airport, "name"], label[airport])
    return pd.DataFrame({"name": s["name"], "source": "n1000_place", "type": s["type"], "x": out[:, 0], "y": out[:, 1]})


def airport_points(names: pd.Series, label: np.ndarray) -> np.ndarray:
    """Reference coordinates (EPSG:25833) of the N1000 airports, from ``airportsdata`` by ICAO code."""
    import airportsdata  # build-time only: the product reads the bundled candidates.csv
    from pyproj import Transformer

    icao = pd.read_csv(AIRPORTS).set_index("n1000_name")["icao"]
    missing = sorted(set(names) - set(icao.index))
    if missing:
        raise SystemExit(f"{AIRPORTS}: no ICAO code for the N1000 airports {missing}")
    table = airportsdata.load("ICAO")
    lonlat = np.array([(table[c]["lon"], table[c]["lat"]) for c in icao.loc[names]])
    x, y = Transformer.from_crs(4326, 25833, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    pts = np.column_stack([x, y])
    shift = np.hypot(*(pts - label).T)
    if (shift > AIRPORT_MAX_SHIFT_M).any():
        raise SystemExit(f"{AIRPORTS}: ICAO point far from its label: {list(names[shift > AIRPORT_MAX_SHIFT_M])}")
    return pts


def _nearest_label(labels: pd.DataFrame, pts: np.ndarray, max_m: float) -> list[str | None]:
    d, i = cKDTree(labels[["x", "y"]].to_numpy()).query(pts)
    return [labels["name"].iat[j] if dist <= max_m else None for dist, j in zip(d, i, strict=True)]


def builtup_areas(path: Path, xy: np.ndarray, pop: np.ndarray, labels: pd.DataFrame) -> pd.DataFrame:
    poly = gpd.read_file(path)[["geometry"]]
    poly = poly[~poly.geometry.is_empty].reset_index(drop=True)  # 989 of the 1 191 polygons are empty in the copy
    cells = gpd.GeoDataFrame({"pop": pop}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=poly.crs)
    j = gpd.sjoin(cells, poly, predicate="within")
    ranked = labels[labels["type"].isin(SETTLEMENT_TYPES)].assign(rank=lambda d: d["type"].map(TYPE_RANK))
    lab = gpd.GeoDataFrame(ranked, geometry=gpd.points_from_xy(ranked.x, ranked.y), crs=poly.crs)
    inside = gpd.sjoin(lab, poly, predicate="within")
    rows = []
    for k, g in j.groupby("index_right"):
        p = g["pop"].to_numpy()
        pts = np.column_stack([g.geometry.x, g.geometry.y])
        centre = (pts * p[:, None]).sum(0) / p.sum()
        rows.append((k, *pts[np.argmin(np.hypot(*(pts - centre).T))]))
    df = pd.DataFrame(rows, columns=["k", "x", "y"])
    uninhabited = poly.index.difference(df["k"])  # no inhabited cell inside: a point inside the polygon
    rp = poly.loc[uninhabited].geometry.representative_point()
    df = pd.concat([df, pd.DataFrame({"k": uninhabited, "x": rp.x, "y": rp.y})], ignore_index=True).sort_values("k")
    # name: the highest-ranked settlement label inside the area nearest its centre, else the nearest label
    pos = df.set_index("k")[["x", "y"]]
    inside["d"] = np.hypot(inside.x - inside.index_right.map(pos.x), inside.y - inside.index_right.map(pos.y))
    first_label = inside.sort_values(["index_right", "rank", "d", "name"]).drop_duplicates("index_right").set_index("index_right")["name"]
    near = _nearest_label(ranked, df[["x", "y"]].to_numpy(), 5000.0)
    df["name"] = [first_label.get(k) or n or f"built-up area {k}" for k, n in zip(df["k"], near, strict=True)]
    return df.assign(source="n1000_builtup", type="tettbebyggelse")[["name", "source", "type", "x", "y"]]


def grid_clusters(xy: np.ndarray, pop: np.ndarray, labels: pd.DataFrame) -> pd.DataFrame:
    pairs = cKDTree(xy).query_pairs(250 * 1.5, output_type="ndarray")  # 8-neighbourhood of 250 m cells
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(xy), len(xy)))
    _, comp = connected_components(adj, directed=False)
    df = pd.DataFrame({"comp": comp, "tx": (xy[:, 0] // CLUSTER_TILE_M).astype(int),
                       "ty": (xy[:, 1] // CLUSTER_TILE_M).astype(int), "x": xy[:, 0], "y": xy[:, 1], "pop": pop})  # fmt: skip
    rows = []
    for _, g in df.groupby(["comp", "tx", "ty"], sort=True):
        p = g["pop"].to_numpy()
        if p.sum() < CLUSTER_MIN_POP:
            continue
        pts = g[["x", "y"]].to_numpy()
        centre = (pts * p[:, None]).sum(0) / p.sum()
        rows.append(pts[np.argmin(np.hypot(*(pts - centre).T))])
    pts = np.array(rows)
    near = _nearest_label(labels, pts, CLUSTER_LABEL_M)
    kommuner = load_kommuner_geometry()[["name", "geometry"]]
    k = gpd.sjoin_nearest(gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=25833), kommuner)
    kname = k[~k.index.duplicated()]["name"].to_numpy()
    names = [f"{n or kn} (grid {x / 1000:.0f}/{y / 1000:.0f})" for n, kn, (x, y) in zip(near, kname, pts, strict=True)]
    return pd.DataFrame({"name": names, "source": "ssb_cluster", "type": "grid cluster", "x": pts[:, 0], "y": pts[:, 1]})


def build(shared: Path) -> pd.DataFrame:
    xy, pop = read_grid(shared / "ssb" / "NOR0250M_POP_2022.csv")
    tree = cKDTree(xy)
    places = place_names(shared / "n1000" / "StedsnavnTekst.gpkg", xy, pop, tree)
    geonames = load_places()
    labels = pd.concat([places[places["type"].isin(SETTLEMENT_TYPES)],
                        pd.DataFrame({"name": geonames["name"], "x": geonames.geometry.x, "y": geonames.geometry.y})])
    parts = [places, builtup_areas(shared / "n1000" / "Tettbebyggelse.gpkg", xy, pop, places),
             grid_clusters(xy, pop, labels)]  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    pts = out[["x", "y"]].to_numpy()
    out["population"] = [int(round(pop[nb].sum())) for nb in tree.query_ball_point(pts, POP_RADIUS_M)]
    out["x"], out["y"] = out["x"].round().astype(int), out["y"].round().astype(int)
    out = out.sort_values(["source", "name", "x", "y"], kind="stable").reset_index(drop=True)
    return out[["name", "source", "type", "population", "x", "y"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=DATA_DIR / "candidates" / "candidates.csv")
    args = parser.parse_args()
    df = build(args.shared)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        df.to_csv(tmp, index=False)
    print(f"wrote {args.out}: {len(df)} rows; " + ", ".join(f"{k} {v}" for k, v in df.source.value_counts().sort_index().items()))


if __name__ == "__main__":
    main()
