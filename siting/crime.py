"""The crime picture in a run: offences on demand points, demand weights, crime metrics.

Assumptions (recorded in the run manifest under ``demand_weight``):

* **Spreading**: a municipality's reported offences (SSB 08487, by gjerningssted) are spread over
  its demand points in proportion to their population. SSB publishes no finer geography, so an
  office near the town centre and one at the edge of the municipality see the same offences per
  inhabitant.
* **Suppressed** group values (≤ 4) use the midpoint 2.0 (interval [0, 4]); metrics also report
  the totals with the interval's low and high ends.
* **No data** (Utsira 1151): the municipality gets the national rate per inhabitant (offences
  placed in a municipality ÷ population of the municipalities with data) in weights and metrics;
  it is listed in the manifest. Zero would claim that no offence happened there.
* **Blends** ``{population: a, offences: b, centrality: c}``: each term is first scaled to the
  national population, ``w_i = a × pop_i + b × off_i × (Σ pop / Σ off) + c × small_i × (Σ pop /
  Σ small)`` (``small_i``: the population of point ``i`` if its municipality is in the chosen
  centrality classes, else 0; :mod:`siting.periphery`), so equal shares give the criteria the same
  total weight and the objective stays in population-equivalents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from siting.errors import SitingError


def spread_offences(demand: pd.DataFrame, offences: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Offences per demand point (point value, low, high) in proportion to population.

    Parameters
    ----------
    demand : DataFrame
        ``kommunenummer`` and ``population`` per demand point.
    offences : DataFrame
        :func:`siting.data.crime.load_offences` output indexed by ``kommunenummer``.

    Returns
    -------
    (DataFrame, dict)
        Columns ``offences``, ``offences_low``, ``offences_high`` aligned with ``demand``, and
        the assumptions made (imputed municipalities, national rate).
    """
    k = demand["kommunenummer"].astype(str)
    pop = demand["population"].to_numpy(float)
    kpop = pd.Series(pop).groupby(k.to_numpy()).sum()
    table = offences.reindex(kpop.index)
    missing = table["offences"].isna()
    known_pop = float(kpop[~missing].sum())
    rate = float(table.loc[~missing, "offences"].sum() / known_pop) if known_pop else 0.0
    imputed = {c: table[c].where(~missing, kpop * rate) for c in ("offences", "offences_low", "offences_high")}
    share = pop / k.map(kpop).to_numpy(float)
    out = pd.DataFrame({c: share * k.map(v).to_numpy(float) for c, v in imputed.items()}, index=demand.index)
    info = {
        "spreading": "municipality offences (SSB 08487, by gjerningssted) spread over its demand points in proportion "
                     "to population",
        "period": offences.attrs.get("period"), "group": offences.attrs.get("group"),
        "suppressed_midpoint": "suppressed values (≤ 4) counted as 2 (interval 0-4)",
        "suppressed_municipalities": list(offences.attrs.get("suppressed", [])),
        "no_data_municipalities": [s for s in offences.attrs.get("no_data", []) if s.split()[0] in set(kpop.index[missing])],
        "no_data_rule": f"national rate {rate * 1000:.2f} offences per 1 000 inhabitants",
    }  # fmt: skip
    return out, info


def demand_weights(demand: pd.DataFrame, spec, small=(5, 6)) -> tuple[np.ndarray, str]:
    """Model weights per demand point from a ``demand.weight`` spec.

    ``spec`` is ``"population"``, ``"offences"``, ``"centrality"`` or a mapping ``{population: a,
    offences: b, centrality: c}`` (see the module docstring for the scaling). ``centrality`` counts
    the population of the demand points whose municipality is in the SSB centrality classes
    ``small`` (column ``centrality_class``), scaled to the national population like offences.
    Returns (weights, a description for the manifest).
    """
    pop = demand["population"].to_numpy(float)
    if spec in (None, "population"):
        return pop, "population"
    if isinstance(spec, str):
        spec = {spec: 1.0}
    terms = {"population": (pop, "population")}
    if spec.get("offences"):
        if "offences" not in demand:
            raise SitingError("demand.weight uses offences but no crime data was loaded")
        terms["offences"] = (demand["offences"].to_numpy(float), "offences")
    if spec.get("centrality"):
        if "centrality_class" not in demand:
            raise SitingError("demand.weight uses centrality but no centrality classes were loaded")
        from siting.periphery import small_population

        terms["centrality"] = (small_population(pop, demand["centrality_class"].to_numpy(), small),
                               f"population in centrality classes {', '.join(map(str, small))}")  # fmt: skip
    shares = {k: float(spec.get(k, 0.0)) for k in ("population", "offences", "centrality")}
    if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
        raise SitingError("demand.weight: shares must be >= 0 and not all 0", field="demand.weight")
    if set(k for k, v in shares.items() if v) == {"offences"}:
        return terms["offences"][0], "offences (reported per year, two-year average)"
    w = np.zeros(len(pop))
    parts = []
    for k, a in shares.items():
        if not a:
            continue
        v, label = terms[k]
        scale = 1.0 if k == "population" else (pop.sum() / v.sum() if v.sum() else 0.0)
        w += a * v * scale
        parts.append(f"{a:g} × {label}" + (f" × {scale:.2f}" if k != "population" else ""))
    scaled = [k for k, a in shares.items() if a and k != "population"]
    note = f" ({' and '.join(scaled)} scaled to the national population)" if scaled else ""
    return w, " + ".join(parts) + note


def _block(off: np.ndarray, low: np.ndarray, high: np.ndarray, pop: np.ndarray, before, after, T: float) -> dict:
    total = float(off.sum())
    res = {"offences": total, "offences_low": float(low.sum()), "offences_high": float(high.sum()),
           "population": float(pop.sum()), "offences_per_1000": 1000 * total / pop.sum() if pop.sum() else float("nan")}  # fmt: skip
    for key, t in (("before", before), ("after", after)):
        inside = np.isfinite(t) & (t <= T)
        res[f"offences_within_T_{key}"] = float(off[inside].sum())
        res[f"share_offences_within_T_{key}"] = float(off[inside].sum() / total) if total else float("nan")
        res[f"offences_within_T_{key}_low"] = float(low[inside].sum())
        res[f"offences_within_T_{key}_high"] = float(high[inside].sum())
    res["offences_newly_within_T"] = res["offences_within_T_after"] - res["offences_within_T_before"]
    return res


def crime_metrics(demand: pd.DataFrame, before: np.ndarray, after: np.ndarray, T: float, info: dict) -> dict:
    """Offences within ``T`` minutes before/after and offences per 1 000 inhabitants, nationally
    and per police district (``demand`` needs ``offences``, ``offences_low/high``, ``population``,
    ``politidistrikt``)."""
    off, low, high = (demand[c].to_numpy(float) for c in ("offences", "offences_low", "offences_high"))
    pop = demand["population"].to_numpy(float)
    res = {"national": _block(off, low, high, pop, before, after, T), "politidistrikt": {}}
    labels = demand["politidistrikt"].to_numpy(str)
    for g in sorted(set(labels)):
        m = labels == g
        res["politidistrikt"][g] = _block(off[m], low[m], high[m], pop[m], before[m], after[m], T)
    res["assumptions"] = info
    return res


def kommune_crime_table(demand: pd.DataFrame, before: np.ndarray, after: np.ndarray, T: float,
                        offences: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    """Per municipality: offences (as published; NaN when no data), interval, flag, offences per
    1 000 inhabitants, and the share of its offences within ``T`` before and after."""
    df = pd.DataFrame({"k": demand["kommunenummer"].to_numpy(str), "o": demand["offences"].to_numpy(float),
                       "p": demand["population"].to_numpy(float),
                       "b": np.isfinite(before) & (before <= T), "a": np.isfinite(after) & (after <= T)})  # fmt: skip
    g = df.groupby("k")
    tot = g["o"].sum()
    out = pd.DataFrame({
        "offences_share_within_T_before": (df.o * df.b).groupby(df.k).sum() / tot.where(tot > 0),
        "offences_share_within_T_after": (df.o * df.a).groupby(df.k).sum() / tot.where(tot > 0),
    })  # fmt: skip
    out.index.name = "kommunenummer"
    t = offences[["offences", "offences_low", "offences_high", "crime_flag"]]
    out = t.join(out, how="left").reset_index()
    return out


def add_per_1000(kom: pd.DataFrame, population_col: str = "population_2022") -> pd.DataFrame:
    """Add ``offences_per_1000`` (NaN where there is no data or no population)."""
    pop = kom[population_col].astype(float)
    kom["offences_per_1000"] = (1000 * kom["offences"] / pop.where(pop > 0)).round(2)
    return kom
