"""One map comparing two runs: sites in both plans, only in A, only in B; people gaining or losing."""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from siting import i18n
from siting.data.stations import count_offices
from siting.errors import SitingError
from siting.i18n import plan_title, t, th
from siting.maps.encode import QUANTUM, encode_polygons, latlon, truthy
from siting.maps.page import (
    ATTRIBUTION,
    NORWAY_BOUNDS,
    about,
    attach,
    existing_legend,
    headline,
    headline_line,
    legend_html,
    map_skeleton,
    marker_symbol,
    page_lang,
    panel_html,
)
from siting.maps.payload import (
    fmt_series,
    kommune_fields,
    kommune_payload,
    people_within,
    ranked_proposals,
    site_entry,
    site_name,
    site_rows,
    stations_payload,
)
from siting.maps.scales import Scale, symmetric_range, time_scale
from siting.maps.single import read_run_layers
from siting.style import AREA_COLORS, BRBG, ROUND

#: proposals of two runs closer than this (metres) are the same site in a comparison
SAME_SITE_M = 1000.0


def match_sites(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, within_m: float = SAME_SITE_M) -> list[tuple[int, int]]:
    """Pairs (i, j) of positions in ``a`` and ``b`` that are the same site (closest pairs first, each
    site used once, at most ``within_m`` metres apart in EPSG:25833)."""
    if not len(a) or not len(b):
        return []
    pa = np.c_[a.to_crs(25833).geometry.x, a.to_crs(25833).geometry.y]
    pb = np.c_[b.to_crs(25833).geometry.x, b.to_crs(25833).geometry.y]
    d = np.hypot(pa[:, None, 0] - pb[None, :, 0], pa[:, None, 1] - pb[None, :, 1])
    pairs, used_a, used_b = [], set(), set()
    for flat in np.argsort(d, axis=None, kind="stable"):
        i, j = divmod(int(flat), d.shape[1])
        if d[i, j] > within_m:
            break
        if i not in used_a and j not in used_b:
            pairs.append((i, j))
            used_a.add(i)
            used_b.add(j)
    return pairs


def compare_people(da: pd.DataFrame | None, db: pd.DataFrame | None, T: float) -> tuple[pd.DataFrame | None, bool]:
    """Per municipality: people within T with A and with B, and — when both runs have the same demand
    points — people within T only with B (gain) and only with A (loss). Returns (table, pointwise)."""
    if da is None or db is None:
        return None, False
    pa, pb = people_within(da, T), people_within(db, T)
    if pa is None or pb is None:
        return None, False
    t = pd.DataFrame({"within_A": pa["people_within_T_after"], "within_B": pb["people_within_T_after"]}).fillna(0.0)
    same = (len(da) == len(db) and np.array_equal(da["kommunenummer"].astype(str).to_numpy(), db["kommunenummer"].astype(str).to_numpy())
            and np.allclose(da["population"].to_numpy(float), db["population"].to_numpy(float)))  # fmt: skip
    if "geometry" in getattr(da, "columns", []) and same:
        same = bool(np.allclose(da.geometry.x, db.geometry.x) and np.allclose(da.geometry.y, db.geometry.y))
    if same:
        ina = da["time_after"].to_numpy(float) <= T
        inb = db["time_after"].to_numpy(float) <= T
        w = da["population"].to_numpy(float)
        g = pd.DataFrame({"kommunenummer": da["kommunenummer"].astype(str), "gain_B": np.where(inb & ~ina, w, 0.0),
                          "loss_B": np.where(ina & ~inb, w, 0.0)}).groupby("kommunenummer").sum()  # fmt: skip
        t = t.join(g, how="left").fillna(0.0)
    return t, same


def compare_map(run_a: str | Path, run_b: str | Path, lang: str | None = None) -> folium.Map:
    """One map comparing plan A (``run_a``) with plan B (``run_b``): sites both share, only in A and
    only in B; per municipality the people within T who gain or lose with B instead of A; both
    headlines. Both runs must use the same threshold T. ``lang``: page language (default: run A's)."""
    la, ma, fa = read_run_layers(run_a)
    lb, mb, fb = read_run_layers(run_b)
    lang = page_lang(fa, lang)
    Ta, Tb = ma.get("threshold_minutes"), mb.get("threshold_minutes")
    if Ta != Tb:
        raise SitingError(f"cannot compare coverage at different thresholds (A: {Ta} min, B: {Tb} min); compare runs with the same "
                          "model.threshold_minutes", path=run_b)  # fmt: skip
    T = float(Ta or 30)
    na, nb = plan_title(fa, lang, short=True), plan_title(fb, lang, short=True)
    ka, kb = la["kommuner"], lb["kommuner"].set_index("kommunenummer")
    k = ka.copy()
    k["time_A"] = k["time_after"].astype(float)
    k["time_B"] = k["kommunenummer"].map(kb["time_after"]).astype(float)
    k["diff"] = k["time_B"] - k["time_A"]
    cp, pointwise = compare_people(la.get("demand"), lb.get("demand"), T)

    scales = []
    if cp is not None:
        net = k["kommunenummer"].map(cp["within_B"] - cp["within_A"]).astype(float)
        m, step = symmetric_range(net)
        scales.append((Scale("people", t("cmp.scale_people", lang, T=T), BRBG, -m, m, step,
                             note=t("cmp.scale_people_note", lang, T=T), lang=lang), net))  # fmt: skip
    m, step = symmetric_range(k["diff"])
    scales.append((Scale("diff", t("cmp.scale_diff", lang), BRBG[::-1], -m, m, step, " (min)", note=t("cmp.scale_diff_note", lang),
                         lang=lang), k["diff"]))  # fmt: skip
    scales += [(time_scale("A", t("cmp.time_a", lang), T, lang), k["time_A"]),
               (time_scale("B", t("cmp.time_b", lang), T, lang), k["time_B"])]  # fmt: skip

    fields = kommune_fields(k, lang) + [(t("cmp.time_a", lang), fmt_series(k["time_A"], "min", lang)),
                                         (t("cmp.time_b", lang), fmt_series(k["time_B"], "min", lang))]  # fmt: skip
    if cp is not None:
        get = lambda c: k["kommunenummer"].map(cp[c]).astype(float)  # noqa: E731
        fields += [(t("cmp.people_a", lang, T=T), fmt_series(get("within_A"), "people", lang)),
                   (t("cmp.people_b", lang, T=T), fmt_series(get("within_B"), "people", lang))]  # fmt: skip
        if pointwise:
            fields += [(t("cmp.gain", lang, T=T), fmt_series(get("gain_B"), "people", lang)),
                       (t("cmp.loss", lang, T=T), fmt_series(get("loss_B"), "people", lang))]  # fmt: skip
    kp, colors = kommune_payload(k, fields, scales)

    pa, pb = ranked_proposals(la["proposals"]), ranked_proposals(lb["proposals"])
    pairs = match_sites(pa, pb)
    in_a = {i for i, _ in pairs}
    in_b = {j for _, j in pairs}
    groups = {"shared": [], "a": [], "b": []}
    la4, lb4 = latlon(pa).geometry, latlon(pb).geometry
    for i, j in pairs:
        p, q = pa.iloc[i], pb.iloc[j]
        rows = [[t("cmp.in_a", lang), f"#{int(p['map_rank'])} {site_name(p, lang)}"],
                [t("cmp.in_b", lang), f"#{int(q['map_rank'])} {site_name(q, lang)}"]]  # fmt: skip
        entry = site_entry(q, lb4.iloc[j], "AB", "shared", t("cmp.site_both", lang, name=site_name(q, lang)), rows + site_rows(q, T, lang)[:2],
                           name=site_name(q, lang), sub=f"A #{int(p['map_rank'])} · B #{int(q['map_rank'])}",
                           stand_in=truthy(p.get("stand_in")) or truthy(q.get("stand_in")))  # fmt: skip
        groups["shared"].append({**entry, "site_id": "ab:" + entry["site_id"], "newly": None, "offences_newly": None})
    for kind, prop, geo, used in (("a", pa, la4, in_a), ("b", pb, lb4, in_b)):
        for i in range(len(prop)):
            if i in used:
                continue
            p = prop.iloc[i]
            name = site_name(p, lang)
            entry = site_entry(p, geo.iloc[i], kind.upper(), kind, t(f"cmp.site_only_{kind}", lang, rank=int(p["map_rank"]), name=name),
                               site_rows(p, T, lang), name=name, sub=f"{kind.upper()} #{int(p['map_rank'])}")
            groups[kind].append({**entry, "site_id": f"{kind}:" + entry["site_id"]})

    areas = []
    ca, cb = la.get("coverage_after"), lb.get("coverage_after")
    if ca is not None and cb is not None and len(ca) and len(cb):
        ua, ub = ca.to_crs(25833).union_all(), cb.to_crs(25833).union_all()
        for geom, name, color in ((ub.difference(ua), t("cmp.area_b", lang, T=T), AREA_COLORS["only_b"]),
                                  (ua.difference(ub), t("cmp.area_a", lang, T=T), AREA_COLORS["only_a"])):  # fmt: skip
            if not geom.is_empty:
                gs = gpd.GeoSeries([geom], crs=25833)
                areas.append({"name": name, "color": color, "show": False, "geom": [p for g in encode_polygons(gs) for p in g]})

    ha, hb = headline(ma), headline(mb)
    step = ROUND["people_national"]
    lines = [th("cmp.plan", lang, who="A", name=na, n=len(pa)) + headline_line(ha, lang),
             th("cmp.plan", lang, who="B", name=nb, n=len(pb)) + headline_line(hb, lang)]  # fmt: skip
    if "people_after" in ha and "people_after" in hb:
        d = hb["people_after"] - ha["people_after"]
        more = th("cmp.more" if d >= 0 else "cmp.fewer", lang, n=i18n.people(abs(d), step, lang), T=T)
        if pointwise and cp is not None:
            more += th("cmp.gain_loss", lang, gain=i18n.people(cp["gain_B"].sum(), step, lang), loss=i18n.people(cp["loss_B"].sum(), step, lang))
        lines.append(more + ".")
    lines.append(th("cmp.sites", lang, both=len(pairs), a=len(pa) - len(pairs), b=len(pb) - len(pairs), km=i18n.tick(SAME_SITE_M / 1000, lang)))
    warnings = []
    for man, met, who in ((fa, ma, "A"), (fb, mb, "B")):
        if man.get("is_estimate") or met.get("is_estimate"):
            warnings.append(f"{who}: " + th("warn.estimate", lang))
    n_si = sum(s["stand_in"] for g in groups.values() for s in g)
    if n_si:
        warnings.append(th("warn.standin", lang, n=n_si))
    notes = []
    if cp is None:
        notes.append(th("cmp.no_demand", lang))
    elif not pointwise:
        notes.append(th("cmp.not_pointwise", lang))
    title = t("cmp.title", lang, a=na, b=nb)
    short = (th("cmp.short", lang, T=T, a=i18n.signed_people(ha["people_gain"], step, lang), b=i18n.signed_people(hb["people_gain"], step, lang))
             if "people_gain" in ha and "people_gain" in hb else
             th("cmp.short_share", lang, T=T, a=i18n.pct(ha["share_after"], 1, lang), b=i18n.pct(hb["share_after"], 1, lang),
                today=i18n.pct(ha["share_before"], 1, lang)))  # fmt: skip
    panel = panel_html(title, short, lines, warnings, notes, about([("A", fa), ("B", fb)], lang), lang)
    markers = [(marker_symbol("shared", "AB"), t("legend.both", lang)), (marker_symbol("a", "A"), t("legend.only_a", lang, name=na)),
               (marker_symbol("b", "B"), t("legend.only_b", lang, name=nb)), *existing_legend(la["stations"], lang)]  # fmt: skip
    legend = legend_html(markers, [s for s, _ in scales], lang)
    payload = {"T": T, "q": QUANTUM, "bounds": NORWAY_BOUNDS, "kommuner": kp, "kommuner_label": t("layer.kommuner", lang),
               "colors": colors, "modes": [{"key": s.key} for s, _ in scales], "areas": areas,
               "stations": stations_payload(la["stations"], lang),
               "stations_label": t("layer.existing", lang, n=count_offices(la["stations"])),
               "site_groups": [{"name": t("cmp.group_both", lang, n=len(pairs)), "key": "shared", "sites": groups["shared"]},
                               {"name": t("cmp.group_a", lang, name=na, n=len(groups["a"])), "key": "a", "sites": groups["a"]},
                               {"name": t("cmp.group_b", lang, name=nb, n=len(groups["b"])), "key": "b", "sites": groups["b"]}],
               "attribution": ATTRIBUTION}  # fmt: skip
    return attach(map_skeleton(), payload, panel, legend, title, lang)
