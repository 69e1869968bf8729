"""Coverage metrics: shares within 15/30/45/60 min, mean/median/p90/max time, by group, before/after.

All figures are population-weighted. Unreachable demand (no office within the network) counts
as not covered and as ``inf`` in the maximum; means exclude it and report its population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

THRESHOLDS = (15, 30, 45, 60)
SIZE_CLASSES = ((0, 2000, "< 2 000"), (2000, 20000, "2 000–19 999"), (20000, np.inf, "≥ 20 000"))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Population-weighted quantile (lower interpolation: the value at cumulative share ≥ q)."""
    ok = np.isfinite(values)
    v, w = values[ok], weights[ok]
    if w.sum() <= 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return float(v[order][np.searchsorted(cum, q - 1e-12)])


def summarize(times: np.ndarray, weights: np.ndarray) -> dict:
    """Metrics for one set of demand points."""
    times = np.asarray(times, float)
    weights = np.asarray(weights, float)
    total = float(weights.sum())
    ok = np.isfinite(times)
    out = {"population": total}
    for t in THRESHOLDS:
        out[f"share_within_{t}"] = float(weights[ok & (times <= t)].sum() / total) if total else float("nan")
    out["mean"] = float(np.average(times[ok], weights=weights[ok])) if weights[ok].sum() else float("nan")
    out["median"] = weighted_quantile(times, weights, 0.5)
    out["p90"] = weighted_quantile(times, weights, 0.9)
    out["max"] = float(times[weights > 0].max()) if (weights > 0).any() else float("nan")
    out["unreachable_population"] = float(weights[~ok].sum())
    return out


def size_class(population: pd.Series) -> pd.Series:
    out = pd.Series("", index=population.index)
    for lo, hi, label in SIZE_CLASSES:
        out[(population >= lo) & (population < hi)] = label
    return out


def compute_metrics(demand: pd.DataFrame, before: np.ndarray, after: np.ndarray, kommune_pop: pd.Series) -> dict:
    """Before/after metrics nationally and by police district, county and municipality size class.

    Parameters
    ----------
    demand : DataFrame
        ``population``, ``politidistrikt``, ``fylke``, ``kommunenummer`` per demand point.
    before, after : arrays
        Minutes to the nearest office per demand point.
    kommune_pop : Series
        Municipality population indexed by kommunenummer (for the size classes).
    """
    w = demand["population"].to_numpy(float)
    res = {"national": {"before": summarize(before, w), "after": summarize(after, w)}}
    cls = demand["kommunenummer"].map(size_class(kommune_pop))
    for name, labels in (("politidistrikt", demand["politidistrikt"]), ("fylke", demand["fylke"]), ("size_class", cls)):
        res[name] = {}
        for g in sorted(labels.unique()):
            m = (labels == g).to_numpy()
            res[name][g] = {"before": summarize(before[m], w[m]), "after": summarize(after[m], w[m])}
    # the worst-served 10 % of the population, before and after
    for key, t in (("before", before), ("after", after)):
        cut = weighted_quantile(t, w, 0.9)
        worst = (t >= cut) | ~np.isfinite(t)
        res.setdefault("worst_10pct", {})[key] = {
            "threshold_minutes": cut,
            "population": float(w[worst].sum()),
            "mean_minutes": float(np.average(t[worst & np.isfinite(t)], weights=w[worst & np.isfinite(t)]))
            if (worst & np.isfinite(t)).any() else float("nan"),
        }  # fmt: skip
    return res


def kommune_table(demand: pd.DataFrame, before: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    """Per municipality: population-weighted mean time before/after (minutes)."""
    df = pd.DataFrame({"kommunenummer": demand["kommunenummer"], "w": demand["population"], "b": before, "a": after})
    rows = []
    for k, g in df.groupby("kommunenummer", sort=True):
        fb, fa = np.isfinite(g.b), np.isfinite(g.a)
        rows.append({
            "kommunenummer": k,
            "time_before": float(np.average(g.b[fb], weights=g.w[fb])) if g.w[fb].sum() else np.nan,
            "time_after": float(np.average(g.a[fa], weights=g.w[fa])) if g.w[fa].sum() else np.nan,
        })  # fmt: skip
    out = pd.DataFrame(rows)
    out["time_change"] = out["time_after"] - out["time_before"]
    return out
