"""Presence and workload: each office's catchment, the people and offences it carries, before and after.

An office's catchment is the demand whose nearest open office by drive time it is (existing and
new offices alike; ties to the existing office, then to the lower site index; the locations of
one office count as one office) — the same rule as :mod:`siting.models.load`, computed from the
run's drive-time matrix, whose rows hold every site up to the point's nearest existing office.

Per measure (people, reported offences) the metrics give, before and after, nationally and per
police district: offices, load per office (mean, median, max), the busiest catchments, the Gini
coefficient of the loads, and the offices above the **norm** — the national mean load per office
after the plan, ``Σ load / (offices today + new offices)`` — with their share and the total load
above it. The same norm measures before and after, so the two are comparable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from siting.models.load import nearest_open

MEASURES = ("population", "offences")
#: How many of the busiest catchments are listed.
TOP = 10


def site_office_labels(sites: pd.DataFrame, stations: pd.DataFrame) -> np.ndarray:
    """One label per site: the ``office_id`` of an existing office's location (an office with two
    locations shares one), the ``site_id`` of a candidate."""
    office = stations.set_index("station_id")["office_id"] if "office_id" in stations else pd.Series(dtype=object)
    fixed = sites["fixed"].to_numpy(bool)
    ids = sites["site_id"].astype(str)
    label = ids.map(office).astype(object)  # no office_id (a station-less greenfield): the site id
    return np.where(fixed & label.notna().to_numpy(), label.to_numpy(), ids.to_numpy()).astype(str).astype(object)


def gini(values) -> float:
    """Gini coefficient of non-negative values (0: all equal; → 1: one carries everything)."""
    x = np.sort(np.asarray(values, float))
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return float("nan")
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * x.sum()))


def office_loads(cost, fixed: np.ndarray, chosen, measures: dict[str, np.ndarray], labels: np.ndarray) -> pd.DataFrame:
    """Per office (today's offices and the new sites): each measure's load before and after.

    Parameters
    ----------
    cost : sparse (n_demand, n_sites)
        Drive times (stored = reachable).
    fixed : ndarray of bool
        Today's offices among the sites.
    chosen : sequence of int
        New sites.
    measures : dict of name → ndarray
        Load per demand point for each measure (e.g. population, offences).
    labels : ndarray
        Office label per site (:func:`site_office_labels`).

    Returns
    -------
    DataFrame
        Indexed by office label: ``first_site`` (a site index), ``new`` and ``<measure>_before`` /
        ``<measure>_after`` (a new office carries 0 before).
    """
    chosen = np.asarray(chosen, int)
    before = nearest_open(cost, fixed, [])
    after = nearest_open(cost, fixed, chosen)
    sites = np.r_[np.flatnonzero(fixed), chosen].astype(int)
    lab = labels[sites]
    out = pd.DataFrame({"label": lab, "first_site": sites, "new": ~fixed[sites]}).drop_duplicates("label").set_index("label")
    for name, w in measures.items():
        w = np.asarray(w, float)
        for key, near in (("before", before), ("after", after)):
            ok = near >= 0
            out[f"{name}_{key}"] = pd.Series(w[ok]).groupby(labels[near[ok]]).sum().reindex(out.index).fillna(0.0)
    return out


def _block(b: np.ndarray, a: np.ndarray, n_before: int, norm: float) -> dict:
    res = {}
    for key, v, n in (("before", b, n_before), ("after", a, len(a))):
        v = v[:n]
        res[key] = {"offices": int(n), "total": float(v.sum()), "per_office_mean": float(v.mean()) if n else float("nan"),
                    "per_office_median": float(np.median(v)) if n else float("nan"), "max": float(v.max()) if n else float("nan"),
                    "gini": gini(v), "above_norm": int((v > norm).sum()), "share_above_norm": float((v > norm).mean()) if n else float("nan"),
                    "load_above_norm": float(np.maximum(v - norm, 0).sum())}  # fmt: skip
    return res


def workload_metrics(table: pd.DataFrame, district: pd.Series, names: pd.Series, measures=MEASURES) -> dict:
    """Before/after load metrics nationally and per police district, and the busiest catchments.

    ``table`` from :func:`office_loads`; ``district`` and ``names`` indexed like it (each office's
    police district and display name). The norm is the national mean load per office after the plan.
    """
    existing = ~table["new"].to_numpy(bool)
    order = np.r_[np.flatnonzero(existing), np.flatnonzero(~existing)]  # today's offices first
    t = table.iloc[order]
    n_before = int(existing.sum())
    res: dict = {"definition": "catchment = demand whose nearest open office by drive time it is (locations of one office "
                               "together); norm = national mean load per office after the plan", "national": {}, "politidistrikt": {},
                 "busiest_after": {}}  # fmt: skip
    dist = district.reindex(t.index).to_numpy(str)
    for m in measures:
        b, a = t[f"{m}_before"].to_numpy(float), t[f"{m}_after"].to_numpy(float)
        norm = float(a.sum() / len(a)) if len(a) else float("nan")
        res["national"][m] = {"norm": norm, **_block(b, a, n_before, norm)}
        for g in sorted(set(dist)):
            sel = dist == g
            old = sel & np.r_[np.ones(n_before, bool), np.zeros(len(a) - n_before, bool)]
            res["politidistrikt"].setdefault(g, {})[m] = _block(np.r_[b[old], b[sel & ~old]], np.r_[a[old], a[sel & ~old]], int(old.sum()), norm)
        top = t[f"{m}_after"].sort_values(ascending=False, kind="stable").head(TOP)
        res["busiest_after"][m] = [{"office": str(names.get(k, k)), "new": bool(t.loc[k, "new"]), "politidistrikt": str(district.get(k, "")),
                                    "before": float(t.loc[k, f"{m}_before"]), "after": float(v)} for k, v in top.items()]  # fmt: skip
    return res
