"""Small and remote municipalities: SSB's centrality classes in weights, constraints and metrics.

The ministry's letter names the gap to close: people in smaller, less central municipalities find
the police less available, and the difference by municipality size grew from 2015 to 2021 (the
police's population survey). The survey is not available per municipality, so the tool measures
the gap with what it computes: the **share of people within T** and the **mean drive time** in the
least central classes (SSB centrality classes 5–6 by default, ``demand.centrality_classes``)
against the most central (classes 1–2), before and after. Each demand point takes its
municipality's class (:func:`siting.data.centrality.load_centrality`, 2020 edition).

* **Weight** (``demand.weight: {centrality: b, ...}``): the population of the chosen classes, 0
  elsewhere, scaled to the national population like offences (:func:`siting.crime.demand_weights`).
* **Constraint** (``constraints.min_in_centrality_classes``): at least ``count`` new offices in
  municipalities of the chosen classes.
* **Metrics**: per class 1–6 (people, share within T, mean minutes, before and after), the gap,
  and ``municipalities_with_office`` — municipalities with an office located in them, before and
  after, nationally and per class.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The least central classes by default ("small and remote": SSB classes 5 and 6).
SMALL = (5, 6)
#: The most central classes the gap is measured against.
CENTRAL = (1, 2)


def demand_classes(kommunenummer, centrality: pd.DataFrame) -> np.ndarray:
    """Centrality class (1–6) of each demand point's municipality (0 where it has none)."""
    cls = centrality.set_index("kommunenummer")["centrality_class"]
    return pd.Series(np.asarray(kommunenummer).astype(str)).map(cls).fillna(0).astype(int).to_numpy()


def small_population(population, classes, small=SMALL) -> np.ndarray:
    """Population of the demand points in the ``small`` classes, 0 elsewhere."""
    return np.where(np.isin(classes, list(small)), np.asarray(population, float), 0.0)


def _summary(w, before, after, T) -> dict:
    out = {"population": float(w.sum())}
    for key, t in (("before", before), ("after", after)):
        ok = np.isfinite(t)
        out[f"share_within_T_{key}"] = float(w[t <= T].sum() / w.sum()) if w.sum() else float("nan")
        out[f"mean_time_{key}"] = float(np.average(t[ok], weights=w[ok])) if w[ok].sum() else float("nan")
    return out


def class_metrics(population, classes, before, after, T: float, small=SMALL) -> dict:
    """Per centrality class, and for the ``small`` classes against classes 1–2: people, share within
    ``T`` and mean minutes before and after, and the gap (small minus central; a share gap below 0
    and a time gap above 0 mean the small municipalities are worse served)."""
    w = np.asarray(population, float)
    classes = np.asarray(classes)
    res = {"classes": {}, "small_classes": list(small), "central_classes": list(CENTRAL)}
    for c in range(1, 7):
        m = classes == c
        if m.any():
            res["classes"][str(c)] = _summary(w[m], before[m], after[m], T)
    s, c = np.isin(classes, list(small)), np.isin(classes, list(CENTRAL))
    res["small"], res["central"] = _summary(w[s], before[s], after[s], T), _summary(w[c], before[c], after[c], T)
    res["gap"] = {f"{k}_{key}": res["small"][f"{k}_{key}"] - res["central"][f"{k}_{key}"]
                  for k in ("share_within_T", "mean_time") for key in ("before", "after")}  # fmt: skip
    return res


def municipalities_with_office(site_kommune, fixed: np.ndarray, chosen, centrality: pd.DataFrame | None = None) -> dict:
    """Municipalities with an office located in them, before and after (nationally and per class)."""
    k = np.asarray(site_kommune).astype(str)
    before = set(k[np.flatnonzero(fixed)])
    after = before | set(k[np.asarray(chosen, int)])
    out = {"before": len(before), "after": len(after), "new_municipalities": sorted(after - before)}
    if centrality is not None:
        cls = centrality.set_index("kommunenummer")["centrality_class"]
        out["by_class"] = {str(c): {"municipalities": int((cls == c).sum()), "before": int(sum(cls.get(x) == c for x in before)),
                                    "after": int(sum(cls.get(x) == c for x in after))} for c in range(1, 7)}  # fmt: skip
    return out
