"""Candidate sites for new offices, and matching the site names a scenario gives to candidates.

Sources (``candidates.sources`` in a scenario; see ``docs/candidates.md``):

``n1000_place``
    Kartverket N1000 place names of settlements (by, tettsted, tettbebyggelse, bydel, bygdelag,
    grend, boligfelt), each moved from its map label to the population centre around it, and
    airports, at the aerodrome's reference coordinates (``airportsdata``, at build time).
``n1000_builtup``
    Kartverket N1000 built-up areas (``Tettbebyggelse``): one point per area at its population centre.
``ssb_cluster``
    SSB 250 m population grid 2022: clusters of inhabited cells split into 2 km tiles with ≥ 100
    residents, one point per cluster-tile at its population centre.
``geonames``
    GeoNames places with ≥ 500 inhabitants (``data/places/places.csv``).
``kommune_point``
    A point inside every municipality that no other source gives a candidate.

User points (``candidates.extra_points``, e.g. offered premises) always come first. Points of a
source listed earlier win: a candidate closer than ``dedup_distance_m`` to one already kept is
dropped and its name kept as an alias of the kept candidate that absorbed it. Candidates closer
than ``min_distance_m`` to an existing office are dropped first.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting.data.validate import read_table, require_columns, require_no_missing
from siting.errors import DataError, SitingError
from siting.inputs import resolve

log = logging.getLogger(__name__)

BUNDLED_SOURCES = ("n1000_place", "n1000_builtup", "ssb_cluster")
SOURCES = ("n1000_place", "n1000_builtup", "geonames", "ssb_cluster", "kommune_point")
DEFAULT_SOURCES = list(SOURCES)
COLUMNS = ["site_id", "name", "kommunenummer", "kommune", "politidistrikt", "source", "type", "population", "aliases",
           "stand_in", "geometry"]  # fmt: skip


def load_bundled_candidates(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Load the bundled candidate localities (N1000 place names and built-up areas, SSB grid clusters).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:25833; ``name``, ``source``, ``type``, ``population`` (residents within 1 km, SSB grid
        2022) and point ``geometry``.
    """
    p = resolve("candidates", path).path
    cols = ["name", "source", "type", "population", "x", "y"]
    df = read_table(p, "candidate file", "rebuild it with scripts/build_candidates.py")
    require_columns(df, cols, p)
    require_no_missing(df, cols, p)
    return gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(df.x, df.y), crs=25833)


def read_extra_points(path: Path, kommuner: gpd.GeoDataFrame, max_offshore_m: float = 1000.0) -> gpd.GeoDataFrame:
    """Read user points (CSV ``name,lon,lat`` in WGS 84) and check they lie on Norway's land area.

    A point may lie at most ``max_offshore_m`` outside the municipality polygons (quays, islets
    the generalised coast line misses). Non-numeric coordinates, empty names and points outside
    Norway raise a one-line :class:`DataError` naming the row; when swapping lon and lat would put
    the point in Norway the message says so.
    """
    path = Path(path)
    df = read_table(path, "candidate points", "give a CSV with name, lon, lat", dtype={"name": str})
    require_columns(df, ["name", "lon", "lat"], path)
    require_no_missing(df, ["name"], path)
    for c in ("lon", "lat"):
        num = pd.to_numeric(df[c], errors="coerce")
        bad = num.isna() | ~np.isfinite(num.astype(float))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"row {i + 1} ({df.name.iat[i]!r}): {c} {df[c].iat[i]!r} is not a number; give decimal "
                            "degrees (WGS 84), e.g. lon 10.75, lat 59.91", path=path, field=c)  # fmt: skip
        df[c] = num.astype(float)
    land = kommuner[["geometry"]]

    def offshore(lon, lat) -> np.ndarray:
        ok = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        pts = gpd.GeoSeries(gpd.points_from_xy(np.where(ok, lon, 0), np.where(ok, lat, 0)), crs=4326).to_crs(25833)
        j = gpd.sjoin_nearest(gpd.GeoDataFrame(geometry=pts), land, distance_col="d")
        d = j.groupby(level=0)["d"].min().reindex(range(len(pts))).to_numpy()
        return np.where(ok, d, np.inf)

    d = offshore(df.lon.to_numpy(), df.lat.to_numpy())
    far = d > max_offshore_m
    if far.any():
        i = int(np.flatnonzero(far)[0])
        swapped = offshore(df.lat.to_numpy()[[i]], df.lon.to_numpy()[[i]])[0] <= max_offshore_m
        where = "outside Norway's land area" if not np.isfinite(d[i]) else f"{d[i] / 1000:,.1f} km from Norway's land area"
        fix = "lon and lat look swapped; exchange them" if swapped else "check the coordinates (decimal degrees, WGS 84)"
        raise DataError(f"row {i + 1} ({df.name.iat[i]!r}): lon {df.lon.iat[i]:g}, lat {df.lat.iat[i]:g} is {where} "
                        f"(allowed: {max_offshore_m:g} m from land); {fix}", path=path, field="lon/lat")  # fmt: skip
    pts = gpd.GeoSeries(gpd.points_from_xy(df.lon, df.lat), crs=4326).to_crs(25833)
    return gpd.GeoDataFrame({"name": df["name"].str.strip(), "source": "user", "type": f"user ({path.name})",
                             "population": 0}, geometry=pts.to_numpy(), crs=25833)  # fmt: skip


def _kommune_of(points: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame) -> np.ndarray:
    """Municipality number per point: the polygon it lies in, else the nearest (coast)."""
    k = kommuner[["kommunenummer", "geometry"]]
    j = gpd.sjoin(points[["geometry"]], k, how="left", predicate="within")
    num = j[~j.index.duplicated()]["kommunenummer"].reindex(points.index)
    lost = num.isna().to_numpy()
    if lost.any():
        near = gpd.sjoin_nearest(points.loc[lost, ["geometry"]], k, how="left")
        num[lost] = near[~near.index.duplicated()]["kommunenummer"].reindex(points.index[lost]).to_numpy()
    return num.to_numpy(str)


def plan_sites_from_offices(offices: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Office locations as plan sites for ``evaluate`` (e.g. :func:`siting.data.stations.offices_opened`,
    the 20 offices opened in 2022-2024, at their own recorded positions).

    ``name`` is the office (``office``), ``aliases`` its ``office_id`` and location name, ``stand_in``
    the stations file's flag (True when its own address is not sourced and it stands at its
    municipality's centre).
    """
    office = offices.get("office", offices["name"]).fillna(offices["name"])
    aliases = [a for a in (offices.get("office_id"), offices["name"]) if a is not None]
    return gpd.GeoDataFrame({
        "name": office, "source": "office opened later", "type": offices["type"], "population": 0,
        "kommunenummer": offices["kommunenummer"],
        "aliases": ["; ".join(dict.fromkeys(str(a) for a in t if str(a) != o)) for o, *t in zip(office, *aliases, strict=True)],
        "stand_in": offices.get("stand_in", pd.Series(False, index=offices.index)).astype(bool),
    }, geometry=offices.geometry.to_numpy(), crs=25833).reset_index(drop=True)  # fmt: skip


def dedup(points: gpd.GeoDataFrame, distance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy deduplication in row order: keep a point unless a kept point lies within ``distance_m``.

    Returns the kept mask and, per point, the index of the kept point that absorbed it (itself if kept).
    """
    n = len(points)
    keep = np.ones(n, bool)
    owner = np.arange(n)
    if distance_m <= 0 or n < 2:
        return keep, owner
    xy = np.column_stack([points.geometry.x, points.geometry.y])
    tree = cKDTree(xy)
    for i, near in enumerate(tree.query_ball_point(xy, distance_m)):
        if not keep[i]:
            continue
        later = [j for j in near if j > i and keep[j]]
        keep[later] = False
        owner[later] = i
    return keep, owner


def build_candidates(
    kommuner: gpd.GeoDataFrame, places: gpd.GeoDataFrame, stations: gpd.GeoDataFrame,
    sources: Sequence[str] = DEFAULT_SOURCES, min_distance_m: float = 2000.0, extra_points: Path | None = None,
    dedup_distance_m: float = 1000.0, max_offshore_m: float = 1000.0, bundled: gpd.GeoDataFrame | None = None,
    plan_sites: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:  # fmt: skip
    """Candidate sites for new offices (see the module docstring for the sources and the rule).

    Parameters
    ----------
    kommuner, places, stations : GeoDataFrame
        Municipalities (``kommunenummer``, ``name``, ``politidistrikt``), GeoNames places and existing offices.
    sources : list of str
        Sources in priority order, from :data:`SOURCES`.
    min_distance_m : float
        Drop candidates closer than this to an existing office.
    extra_points : path, optional
        User points, CSV ``name,lon,lat`` (see :func:`read_extra_points`); they come first.
    dedup_distance_m : float
        Drop a candidate closer than this to one of higher priority (0 keeps all).
    max_offshore_m : float
        How far outside the land area a user point may lie.
    bundled : GeoDataFrame, optional
        The bundled localities (default :func:`load_bundled_candidates`).
    plan_sites : GeoDataFrame, optional
        Sites added as they are, after the rule (not deduplicated, not excluded near offices),
        e.g. :func:`plan_sites_from_offices` for ``evaluate``; with ``kommunenummer`` and ``aliases``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``name``, ``kommunenummer``, ``kommune``, ``politidistrikt``, ``source``, ``type``,
        ``population`` (residents within 1 km for bundled sources, the GeoNames figure for GeoNames
        places, 0 otherwise), ``aliases`` (names of dropped duplicates, ``;``-separated),
        ``stand_in`` (a plan site placed at a stand-in location), ``geometry``.
    """
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise SitingError(f"unknown candidate source {unknown[0]!r} (allowed: {', '.join(SOURCES)})", field="candidates.sources")
    parts = []
    if extra_points is not None:
        parts.append(read_extra_points(Path(extra_points), kommuner, max_offshore_m))
    if any(s in BUNDLED_SOURCES for s in sources):
        bundled = load_bundled_candidates() if bundled is None else bundled
    for s in sources:
        if s in BUNDLED_SOURCES:
            b = bundled[bundled["source"] == s]
            parts.append(b.sort_values(["population", "name"], ascending=[False, True], kind="stable"))
        elif s == "geonames":
            parts.append(gpd.GeoDataFrame({"name": places["name"], "source": "geonames", "type": "GeoNames place ≥ 500",
                                           "population": places["population"]}, geometry=places.geometry.to_numpy(), crs=25833)
                         .sort_values(["population", "name"], ascending=[False, True], kind="stable"))  # fmt: skip
    cand = pd.concat(parts, ignore_index=True) if parts else gpd.GeoDataFrame(columns=["name", "source", "type", "population", "geometry"])
    cand = gpd.GeoDataFrame(cand, geometry="geometry", crs=25833)
    cand["kommunenummer"] = _kommune_of(cand, kommuner) if len(cand) else pd.Series(dtype=str)
    if "kommune_point" in sources:
        without = kommuner[~kommuner.kommunenummer.isin(set(cand["kommunenummer"]))]
        pts = gpd.GeoDataFrame({"name": without["name"], "source": "kommune_point", "type": "municipality point",
                                "population": 0, "kommunenummer": without["kommunenummer"]},
                               geometry=without.geometry.representative_point().to_numpy(), crs=25833)  # fmt: skip
        cand = gpd.GeoDataFrame(pd.concat([cand, pts], ignore_index=True), geometry="geometry", crs=25833)
    if len(stations) and min_distance_m > 0 and len(cand):
        d, _ = cKDTree(np.column_stack([stations.geometry.x, stations.geometry.y])).query(
            np.column_stack([cand.geometry.x, cand.geometry.y]))  # fmt: skip
        near = (d < min_distance_m) & cand["source"].eq("user").to_numpy()
        if near.any():
            log.warning("user points within %g m of an existing office, not candidates (candidates.min_distance_to_station_m): %s",
                        min_distance_m, ", ".join(cand.loc[near, "name"]))  # fmt: skip
        cand = cand[d >= min_distance_m].reset_index(drop=True)
    keep, owner = dedup(cand, dedup_distance_m)
    merged = ~keep & cand["source"].eq("user").to_numpy()
    if merged.any():
        log.warning("user points within %g m of another user point, merged into it (candidates.dedup_distance_m): %s",
                    dedup_distance_m, ", ".join(cand.loc[merged, "name"]))  # fmt: skip
    names = cand["name"].to_numpy(object)
    aliases = {i: [] for i in np.flatnonzero(keep)}
    for j in np.flatnonzero(~keep):
        if names[j].lower() != names[owner[j]].lower() and names[j] not in aliases[owner[j]]:
            aliases[owner[j]].append(names[j])
    cand = cand[keep].copy()
    cand["aliases"] = ["; ".join(aliases[i]) for i in cand.index]
    cand["stand_in"] = False
    if plan_sites is not None and len(plan_sites):
        cand = gpd.GeoDataFrame(pd.concat([cand, plan_sites], ignore_index=True), geometry="geometry", crs=25833)
    k = kommuner.set_index("kommunenummer")
    cand["politidistrikt"] = cand["kommunenummer"].map(k["politidistrikt"])
    cand["kommune"] = cand["kommunenummer"].map(k["name"])
    cand["population"] = cand["population"].fillna(0).astype(int)
    cand["stand_in"] = cand["stand_in"].fillna(False).astype(bool)
    order = {s: i for i, s in enumerate(["office opened later", "user", *sources])}
    cand = cand.assign(_p=cand["source"].map(order)).sort_values(["kommunenummer", "_p", "population", "name"],
                                                                 ascending=[True, True, False, True], kind="stable")  # fmt: skip
    cand = cand.reset_index(drop=True)
    cand["site_id"] = [f"cand-{i:04d}" for i in range(len(cand))]
    if len(cand) and cand["source"].eq("ssb_cluster").any():  # after the ids: names never move an id
        cand = name_clusters(cand, _settlements(bundled, places, kommuner))
    return gpd.GeoDataFrame(cand[COLUMNS], geometry="geometry", crs=25833)


#: N1000 label types that name a settlement (not airports)
SETTLEMENT_TYPES = ("by", "tettsted", "tettbebyggelse", "bydel", "bygdelagBygd", "grend", "boligfelt")
#: a grid cluster is named after the nearest settlement within this distance (metres)
NEAR_PLACE_M = 5000.0
_GRID = re.compile(r"^(?P<base>.+?) \((?P<grid>grid -?\d+/-?\d+)\)$")


def _settlements(bundled: gpd.GeoDataFrame | None, places: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Named settlements with their municipality: N1000 place names and built-up areas of the
    bundle, GeoNames places."""
    parts = [gpd.GeoDataFrame({"name": places["name"]}, geometry=places.geometry.to_numpy(), crs=25833)]
    if bundled is not None:
        b = bundled[bundled["type"].isin(SETTLEMENT_TYPES)]
        parts.append(gpd.GeoDataFrame({"name": b["name"]}, geometry=b.geometry.to_numpy(), crs=25833))
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=25833)
    out["kommunenummer"] = _kommune_of(out, kommuner) if len(out) else pd.Series(dtype=str)
    return out


def name_clusters(cand: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame, max_m: float = NEAR_PLACE_M) -> gpd.GeoDataFrame:
    """Name each SSB grid cluster after the nearest named settlement within ``max_m`` — in its own
    municipality if there is one, else any — keeping the grid reference: ``Frogn (grid 255/6624)``
    → ``Drøbak (grid 255/6624)`` (pages show it as "ved Drøbak, Frogn", see
    :func:`siting.i18n.plain_name`). Without a settlement within ``max_m`` the municipality's name
    stays. The bundled name becomes an alias, so scenarios that use it still find the site.

    ``settlements``: ``name``, ``kommunenummer`` and point geometry (EPSG:25833).
    """
    out = cand.copy()
    rows = np.flatnonzero(out["source"].eq("ssb_cluster").to_numpy())
    if not len(rows) or not len(settlements):
        return out
    tree = cKDTree(np.column_stack([settlements.geometry.x, settlements.geometry.y]))
    names = settlements["name"].astype(str).to_numpy()
    s_kn = settlements["kommunenummer"].astype(str).to_numpy()
    xy = np.column_stack([out.geometry.x.to_numpy()[rows], out.geometry.y.to_numpy()[rows]])
    dist, idx = tree.query(xy, k=min(12, len(names)), distance_upper_bound=max_m)
    dist, idx = dist.reshape(len(rows), -1), idx.reshape(len(rows), -1)
    for r, d_row, i_row in zip(rows, dist, idx, strict=True):
        old = str(out.at[r, "name"])
        mt = _GRID.match(old)
        near = [i for d, i in zip(d_row, i_row, strict=True) if np.isfinite(d)]
        if not mt or not near:
            continue
        own = [i for i in near if s_kn[i] == str(out.at[r, "kommunenummer"])]
        new = f"{names[(own or near)[0]]} ({mt['grid']})"
        if new != old:
            out.at[r, "name"] = new
            al = [a for a in str(out.at[r, "aliases"] or "").split("; ") if a]
            out.at[r, "aliases"] = "; ".join(dict.fromkeys([old, *al]))
    return out


# ------------------------------------------------------------------ matching scenario site names
_QUALIFIED = re.compile(r"^(?P<name>.+?)\s*\((?P<kommune>[^()]+)\)$")


def _kommune_hits(kommuner: gpd.GeoDataFrame, key: str) -> pd.DataFrame:
    key = key.strip().lower()
    if key.isdigit():
        return kommuner[kommuner.kommunenummer == key.zfill(4)]
    return kommuner[kommuner.name.str.lower() == key]


def _kommune_label(kommuner: gpd.GeoDataFrame, numbers) -> str:
    names = kommuner.set_index("kommunenummer")["name"]
    return ", ".join(f"{n} {names.get(n, '?')}" for n in numbers)


def _name_hits(cand: gpd.GeoDataFrame, name: str) -> pd.Series:
    """Candidates whose name or one of whose aliases is ``name`` (case-insensitive)."""
    key = name.strip().lower()
    alias = cand["aliases"].fillna("").str.lower().str.split("; ").apply(lambda a: key in a)
    return (cand["name"].str.lower() == key) | alias


def resolve_site(entry: str, cand: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame, what: str) -> tuple[np.ndarray, str]:
    """The candidates a scenario's site name stands for, and whether it names a ``kommune`` or a ``place``.

    * ``3001`` or ``Halden`` (a municipality number or name): every candidate in the municipality;
    * ``Vik`` (a place name or an alias of a candidate): its candidates, when they all lie in one
      municipality — else an error listing the matches with their municipalities;
    * ``Vik (Sogndal)`` or ``Vik (4640)``: the place within that municipality;
    * ``cand-0412`` (a candidate's ``site_id``, as the map's what-if export writes it): that site.

    A municipality name wins over a place of the same name elsewhere (write ``Os (Bjørnafjorden)``
    for the place). Raises :class:`SitingError` (one line) when nothing or more than one place matches.
    """
    raw = str(entry).strip()
    if "site_id" in cand.columns:
        by_id = cand.index[cand["site_id"].astype(str) == raw].to_numpy()
        if len(by_id):
            return by_id[:1], "place"
    m = None if _name_hits(cand, raw).any() else _QUALIFIED.match(raw)  # "Hvaler tjenestested (summer)" is a name
    place, within = (m["name"].strip(), m["kommune"].strip()) if m else (raw, None)
    if within is not None:
        k = _kommune_hits(kommuner, within)
        if len(k) != 1:
            found = f"matches {_kommune_label(kommuner, k.kommunenummer)}" if len(k) else "is not a municipality name or number"
            raise SitingError(f"{what}: site '{raw}': '{within}' {found}; give the municipality number, e.g. "
                              f"'{place} ({k.kommunenummer.iloc[0] if len(k) else '4640'})'")  # fmt: skip
        pool = cand[cand.kommunenummer == k.kommunenummer.iloc[0]]
    else:
        k = _kommune_hits(kommuner, raw)
        if len(k) > 1:
            raise SitingError(f"{what}: site '{raw}' is ambiguous: municipalities {_kommune_label(kommuner, k.kommunenummer)}; "
                              "give the municipality number")  # fmt: skip
        if len(k) == 1:
            num, name = k.kommunenummer.iloc[0], k.name.iloc[0]
            hit = cand.index[cand.kommunenummer == num].to_numpy()
            if not len(hit):
                raise SitingError(f"{what}: municipality {num} {name} has no candidate sites (all lie within "
                                  "candidates.min_distance_to_station_m of an existing office, or its sources are "
                                  "switched off); lower that distance or add a point with candidates.extra_points")  # fmt: skip
            return hit, "kommune"
        pool = cand
    hit = pool[_name_hits(pool, place)]
    if not len(hit):
        scope = f" in {_kommune_label(kommuner, k.kommunenummer)}" if within is not None else ""
        close = difflib.get_close_matches(place, list(pool["name"].unique()) + ([] if within else list(kommuner.name)), n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise SitingError(f"{what}: site '{raw}' is not a candidate{scope} (a place, municipality name or number){hint}; "
                          "check spelling or add it with candidates.extra_points")  # fmt: skip
    nums = list(dict.fromkeys(hit.kommunenummer))
    if len(nums) > 1:
        listing = ", ".join(f"{place} ({_kommune_label(kommuner, [n])})" for n in nums)
        raise SitingError(f"{what}: site '{raw}' is ambiguous: {len(nums)} municipalities have it: {listing}; "
                          f"write e.g. '{place} ({nums[0]})'")  # fmt: skip
    return hit.index.to_numpy(), "place"


def match_sites(names: Sequence[str], cand: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame, what: str) -> list[np.ndarray]:
    """Candidate indices for each site name (see :func:`resolve_site`)."""
    return [resolve_site(n, cand, kommuner, what)[0] for n in names]


def pick_site(entry: str, cand: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame, what: str) -> int:
    """One candidate for a site name (``evaluate``): a place's first candidate, or a municipality's main place.

    A municipality's main place is its candidate named like the municipality (highest-priority
    source first), else its candidate with the most residents within 1 km.
    """
    hit, kind = resolve_site(entry, cand, kommuner, what)
    if kind == "place" or len(hit) == 1:
        return int(hit[0])
    sub = cand.loc[hit]
    kname = kommuner.loc[kommuner.kommunenummer == sub.kommunenummer.iloc[0], "name"].iloc[0].lower()
    same = sub.index[sub["name"].str.lower() == kname]
    if len(same):
        return int(same[0])
    return int(sub.sort_values("population", ascending=False, kind="stable").index[0])
