"""The page's data from a run's layers: per municipality (hover rows, colours), existing offices,
the ranked proposals and their rows."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import i18n
from siting.i18n import Lang, t
from siting.maps.encode import encode_polygons, latlon, truthy
from siting.maps.scales import Scale, robust_range, time_scale
from siting.style import GREENS, PURPLES, RDPU, ROUND, ranked


def people_within(demand: pd.DataFrame | None, T: float) -> pd.DataFrame | None:
    """Per municipality: people within T today, with the plan and newly within T (and offences when
    the demand points carry an ``offences`` weight). None without demand points."""
    if demand is None or not len(demand) or not {"kommunenummer", "population", "time_before", "time_after"} <= set(demand.columns):
        return None
    d = pd.DataFrame({"kommunenummer": demand["kommunenummer"].astype(str)})
    b = demand["time_before"].to_numpy(float) <= T
    a = demand["time_after"].to_numpy(float) <= T
    for wcol, prefix in (("population", "people"), ("offences", "offences")):
        if wcol in demand.columns:
            w = demand[wcol].to_numpy(float)
            d[f"{prefix}_within_T_before"] = np.where(b, w, 0.0)
            d[f"{prefix}_within_T_after"] = np.where(a, w, 0.0)
            d[f"{prefix}_newly_within_T"] = np.where(a & ~b, w, 0.0)
    return d.groupby("kommunenummer").sum()


def demand_layer(demand: gpd.GeoDataFrame, before, after) -> gpd.GeoDataFrame:
    """The run's ``demand`` layer: points with municipality, population (and ``offences`` when the
    demand carries that weight) and minutes to the nearest office today and with the plan (NaN:
    unreachable)."""
    cols = {"kommunenummer": demand["kommunenummer"].astype(str).to_numpy(), "population": demand["population"].to_numpy(float)}
    if "offences" in demand.columns:
        cols["offences"] = demand["offences"].to_numpy(float)
    for name, tt in (("time_before", before), ("time_after", after)):
        tt = np.asarray(tt, float)
        cols[name] = np.where(np.isfinite(tt), tt, np.nan)
    return gpd.GeoDataFrame(cols, geometry=demand.geometry.to_numpy(), crs=demand.crs)


def offence_columns(kommuner: pd.DataFrame) -> list[str]:
    return [c for c in kommuner.columns if c.startswith("offences") and pd.api.types.is_numeric_dtype(kommuner[c])]


def offence_rate(kommuner: pd.DataFrame) -> pd.Series | None:
    """Offences per 1 000 inhabitants per municipality, if the layer has offence columns."""
    for c in ("offences_per_1000", "offences_per_1000_inhabitants"):
        if c in kommuner.columns:
            return kommuner[c].astype(float)
    if "offences" in kommuner.columns and "population_2022" in kommuner.columns:
        return kommuner["offences"].astype(float) / kommuner["population_2022"].replace(0, np.nan).astype(float) * 1000
    return None


#: offence columns of the municipality layer and the proposals, and their catalogue keys
OFFENCE_LABELS = {"offences_per_1000": "offences.per_1000", "offences_per_1000_inhabitants": "offences.per_1000",
                  "offences_share_within_T_before": "offences.share_before", "offences_share_within_T_after": "offences.share_after",
                  "offences_newly_covered": "offences.newly", "offences_newly_within_T": "offences.newly"}  # fmt: skip


def column_label(col: str, T: float, lang: Lang) -> str:
    """A readable label for a data column (known columns from the catalogue, others spelled out)."""
    if col in OFFENCE_LABELS:
        return t(OFFENCE_LABELS[col], lang, T=T)
    return col.replace("_", " ").capitalize()


def offence_fields(k: pd.DataFrame, T: float, lang: Lang) -> list[tuple[str, pd.Series]]:
    """Hover rows for the municipality layer's offence columns (helper "criteria": ``offences``,
    ``offences_low/high``, ``offences_per_1000``, ``offences_share_within_T_*``, ``crime_flag``)."""
    cols = offence_columns(k)
    out = []
    if "offences" in cols:
        val = fmt_series(k["offences"].astype(float), "num", lang)
        if {"offences_low", "offences_high"} <= set(cols):
            lo, hi = k["offences_low"].astype(float), k["offences_high"].astype(float)
            rng = (" (" + fmt_series(lo, "num", lang) + i18n.DASH + fmt_series(hi, "num", lang) + ")").where((hi - lo).abs() > 1e-9, "")
            val = val + rng
        out.append((t("offences.per_year", lang), val))
    for c in cols:
        if c in ("offences", "offences_low", "offences_high"):
            continue
        v = k[c].astype(float)
        out.append((column_label(c, T, lang), v.map(lambda x: i18n.pct(x, 1, lang)) if "share" in c else fmt_series(v, "num", lang)))
    if "crime_flag" in k.columns:
        flag = k["crime_flag"].fillna("").astype(str)
        if flag.str.strip().ne("").any():
            out.append((t("offences.note", lang), flag.map(lambda f: i18n.enum("crime_flag", f, lang) if f.strip() else i18n.DASH)))
    return out


def kommune_scales(k: pd.DataFrame, T: float, pw: pd.DataFrame | None, lang: Lang) -> list[tuple[Scale, pd.Series]]:
    out = [(time_scale("after", t("time.after", lang), T, lang), k["time_after"]),
           (time_scale("before", t("time.before", lang), T, lang), k["time_before"])]  # fmt: skip
    ch = k["time_change"].astype(float)
    lo, _, step = robust_range(ch[ch < 0], 0.05, 1.0)
    out.append((Scale("change", t("time.change", lang), GREENS[::-1], min(lo, -step), 0, step, " (min)", lang=lang), ch))
    if pw is not None:
        newly = k["kommunenummer"].map(pw["people_newly_within_T"]).astype(float)
        _, hi, step = robust_range(newly[newly > 0], 0.0, 0.95)
        out.append((Scale("newly", t("people.newly", lang, T=T), PURPLES, 0, hi, step, lang=lang), newly))
    rate = offence_rate(k)
    if rate is not None:
        _, hi, step = robust_range(rate, 0.0, 0.98)
        out.append((Scale("offences", t("offences.per_1000", lang), RDPU, 0, hi, step, lang=lang), rate))
    return out


def kommune_payload(k: gpd.GeoDataFrame, fields: list[tuple[str, pd.Series]], scales: list[tuple[Scale, pd.Series]]) -> dict:
    return {
        "geom": encode_polygons(k.geometry, coverage=True),
        "names": k["name"].astype(str).tolist(),
        "fields": [f for f, _ in fields],
        "values": [list(r) for r in zip(*(s.tolist() for _, s in fields), strict=True)] if fields else [],
    }, {s.key: [s.color(v) for v in vals] for s, vals in scales}


def fmt_series(s: pd.Series, kind: str, lang: Lang) -> pd.Series:
    if kind == "min":
        return s.map(lambda v: i18n.minutes(v, 1, lang))
    if kind == "people":
        return s.map(lambda v: i18n.people(v, ROUND["people_site"], lang))
    if kind == "num":
        return s.map(lambda v: i18n.num(v, 1, lang))
    return s.fillna(i18n.DASH).astype(str)


def kommune_fields(k: pd.DataFrame, lang: Lang) -> list[tuple[str, pd.Series]]:
    """The hover rows every municipality has (number, district, population, drive time today)."""
    return [(t("k.number", lang), k["kommunenummer"].astype(str)), (t("k.district", lang), k["politidistrikt"].astype(str)),
            (t("k.population", lang), fmt_series(k["population_2022"].astype(float), "people", lang)),
            (t("time.before", lang), fmt_series(k["time_before"], "min", lang))]  # fmt: skip


def stations_payload(stations: gpd.GeoDataFrame, lang: Lang) -> list:
    """Per existing office: lat, lon, name, type, district, stand-in flag, position note."""
    st = latlon(stations)
    n = len(st)
    stand = st["stand_in"].map(truthy) if "stand_in" in st.columns else pd.Series(False, index=st.index)
    src = st["location_source"].fillna("").astype(str) if "location_source" in st.columns else pd.Series("", index=st.index)
    qual = st["location_quality"].fillna("").astype(str) if "location_quality" in st.columns else pd.Series("", index=st.index)
    notes = [t("station.standin", lang, place=_place_in(s_)) if si else
             (t("station.approximate", lang, quality=i18n.enum("location_quality", q, lang)) if q and q != "exact" else "")
             for si, s_, q in zip(stand, src, qual, strict=True)]  # fmt: skip
    return [[round(g.y, 5), round(g.x, 5), str(nm), str(t_), str(d), int(si), nt]
            for g, nm, t_, d, si, nt in zip(st.geometry, st["name"], st.get("type", [""] * n), st.get("politidistrikt", [""] * n),
                                            stand, notes, strict=True)]  # fmt: skip


def _place_in(source: str) -> str:
    """The place named in a position's source (``GeoNames place 7626353 (Kyrkjebygda)`` → ``Kyrkjebygda``)."""
    mt = re.search(r"\(([^()]+)\)\s*$", source)
    return mt.group(1) if mt else source


def ranked_proposals(proposals: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Proposals in the one rank order (:func:`siting.style.ranked`: people newly within T, ties by
    site id), numbered 1… in ``map_rank`` (= ``rank`` of runs written since the rank order was unified)."""
    pr = ranked(proposals, "pop_newly_covered", rank="map_rank")
    return pr


def site_name(p, lang: Lang) -> str:
    """A proposal's name for readers (``Drøbak (grid 255/6624)`` → "ved Drøbak, Frogn")."""
    return i18n.plain_name(p.get("name", ""), p.get("kommune"), lang)


def site_rows(p, T: float, lang: Lang) -> list[list[str]]:
    rows = [[t("k.municipality", lang), f"{p.get('kommune', '')} ({p.get('kommunenummer', '')})"],
            [t("k.district", lang), str(p.get("politidistrikt", ""))]]  # fmt: skip
    if "pop_newly_covered" in p:
        rows.append([t("people.newly", lang, T=T), i18n.people(p["pop_newly_covered"], ROUND["people_site"], lang)])
    for c in p.index:
        if c.startswith("offences") and pd.notna(p[c]):
            rows.append([column_label(c, T, lang), i18n.pct(float(p[c]), 1, lang) if "share" in c else i18n.num(float(p[c]), 0, lang)])
    if "pop_served" in p:
        rows.append([t("site.served", lang), i18n.people(p["pop_served"], ROUND["people_site"], lang)])
    if "mean_time_saved" in p:
        rows.append([t("site.time_saved", lang), i18n.minutes(p["mean_time_saved"], 1, lang)])
    if "wish_status" in p and str(p["wish_status"]) != "no wishes file":
        rows.append([t("site.wish", lang), i18n.enum("wish_status", p["wish_status"], lang)])
    if truthy(p.get("stand_in")):
        v = p["stand_in"]
        rows.append([t("standin", lang), t("standin.for", lang, place=v) if str(v).lower() not in ("true", "1", "yes")
                     else t("standin.unsourced", lang)])  # fmt: skip
    return rows


def site_entry(p, geom, label: str, kind: str, title: str, rows: list, name: str, sub: str = "", stand_in: bool | None = None) -> dict:
    """One site of the page (marker, list entry, popup): ``p`` a proposals row, ``geom`` its point
    in EPSG:4326, ``name`` its name for readers; ``newly`` / ``offences_newly``: people (offences)
    newly within T through it."""
    def num(c):
        v = p.get(c)
        return None if v is None or pd.isna(v) else float(v)

    return {"site_id": str(p.get("site_id", "")), "lat": round(geom.y, 5), "lon": round(geom.x, 5), "label": label, "kind": kind,
            "stand_in": truthy(p.get("stand_in")) if stand_in is None else stand_in, "title": title, "name": name,
            "kommune": str(p.get("kommune", "") or ""), "newly": num("pop_newly_covered"), "offences_newly": num("offences_newly_covered"),
            "sub": sub, "rows": rows}  # fmt: skip
