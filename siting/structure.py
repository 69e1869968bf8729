"""The office structure as a whole: what each of today's offices is worth, and today's structure
against the best structure of the same size.

* **Office values** (:func:`office_values`): per office location of today's structure, the people
  newly beyond T and the person-minutes lost if it alone closed (its points fall back to their
  second-nearest office), and its best replacement — the site (any candidate or other location)
  whose opening in its stead loses least person-minutes — with that swap's change. Exact on rows
  that reach each point's second-nearest office (:func:`kth_nearest_times`): no site beyond it can
  change a point's time when one office closes.
* **Efficiency** (:func:`structure_summary`): people within T and mean drive time of today's
  structure against the optimal structures of the same size (MCLP and p-median, both proven):
  ``coverage_efficiency = within T today / within T at the MCLP optimum`` and
  ``mean_time_efficiency = mean time at the p-median optimum / mean time today`` (1 = as good as
  the optimum).
* **Kept / moved / added** (:func:`structure_layer`): every location of today's structure and of
  the chosen one, with its status.

Pure functions on arrays and the pipeline's stages; the outputs stage writes ``office_values.csv``, the
``structure`` layer of ``layers.gpkg`` and ``metrics.json['structure']``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting import plans

log = logging.getLogger(__name__)

#: Status of a location in the structure layer.
KEPT, MOVED, ADDED = "kept", "moved", "added"


def kth_nearest_times(graph, demand_xy, facility_xy, k: int, start: np.ndarray, limit: float = 2000.0) -> np.ndarray:
    """Per demand point, the minutes to its ``k``-th nearest facility (``inf`` if fewer than ``k``
    are within ``limit`` minutes). Rows grow from ``start`` minutes (doubling) only where needed."""
    from siting import traveltime

    demand_xy = traveltime._as_xy(demand_xy)
    out = np.full(len(demand_xy), np.inf)
    todo = np.arange(len(demand_xy))
    cut = np.maximum(np.asarray(start, float), 1.0)
    while len(todo):
        m = sp.csr_array(traveltime.travel_time_matrix(graph, demand_xy[todo], facility_xy, cutoff=np.minimum(cut[todo], limit)))
        cnt = np.diff(m.indptr)
        done = cnt >= k
        for r in np.flatnonzero(done):
            out[todo[r]] = np.partition(m.data[m.indptr[r] : m.indptr[r + 1]], k - 1)[k - 1]
        give_up = ~done & (cut[todo] >= limit)
        todo = todo[~done & ~give_up]
        cut[todo] = 2.0 * cut[todo] + 30.0
    return out


def office_values(data: plans.PlanData, offices: np.ndarray, T: float, allowed: np.ndarray) -> pd.DataFrame:
    """Per location of today's structure (``offices``, site indices): people within T and
    person-minutes lost if it alone closed, and its best replacement and the change that swap
    makes (person-minutes; negative = the swap saves time).

    ``data`` must hold every site within each point's second-nearest office of ``offices`` and
    no fixed sites (``before`` infinite): then every quantity is exact.
    """
    offices = [int(j) for j in offices]
    loss = {m["site"]: m for m in plans.marginal_values(data, offices, T)}
    rep = {r["site"]: r for r in plans.best_replacement(data, offices, T, allowed, "time")}
    rep_c = {r["site"]: r for r in plans.best_replacement(data, offices, T, allowed, "coverage")}
    after, nearest = plans.times(data, offices)
    w = data.weights
    rows = []
    for j in offices:
        served = nearest == j
        rows.append({"site": j, "pop_served": float(w[served].sum()),
                     "pop_beyond_T_if_closed": loss[j]["coverage_loss"], "time_loss_if_closed_pop_min": loss[j]["time_loss_pop_min"],
                     "best_replacement": rep[j]["replacement"], "replacement_change_pop_min": rep[j]["regret"],
                     "best_replacement_coverage": rep_c[j]["replacement"], "replacement_change_people": -rep_c[j]["regret"]})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class StructureAnalysis:
    """What the outputs stage writes for a structure scenario."""

    offices: pd.DataFrame
    layer: gpd.GeoDataFrame
    summary: dict = field(default_factory=dict)


def _label(sites, j: int) -> str:
    s = sites.iloc[j]
    return f"{s['name']} ({s.kommune})" if s["name"] != s.kommune else str(s["name"])


def structure_layer(inputs, existing: np.ndarray, open_sites: np.ndarray) -> gpd.GeoDataFrame:
    """Every location of today's structure and of the chosen one: ``kept`` (in both), ``moved``
    (today's, not in the chosen structure), ``added`` (new in the chosen structure)."""
    chosen = np.zeros(len(existing), bool)
    chosen[np.asarray(open_sites, int)] = True
    idx = np.flatnonzero(existing | chosen)
    status = np.where(existing[idx] & chosen[idx], KEPT, np.where(existing[idx], MOVED, ADDED))
    s = inputs.sites.iloc[idx]
    return gpd.GeoDataFrame({"site_id": s.site_id.to_numpy(str), "name": s["name"].to_numpy(str), "kommune": s.kommune.fillna("").to_numpy(str),
                             "politidistrikt": s.politidistrikt.to_numpy(str), "status": status}, geometry=s.geometry.to_numpy(),
                            crs=25833)  # fmt: skip


def today_rows(network, inputs, existing: np.ndarray, before: np.ndarray) -> plans.PlanData:
    """Plan data on rows reaching each point's second-nearest office of today's structure (nothing fixed)."""
    from siting import traveltime

    g = network.graph
    second = kth_nearest_times(g, inputs.demand.geometry, inputs.sites.geometry[existing], 2,
                               np.where(np.isfinite(before), 2.0 * before + 10.0, 90.0))  # fmt: skip
    reach = np.where(np.isfinite(second), second + 1e-6, np.where(np.isfinite(before), before + 1e-6, 0.0))
    m = sp.csr_array(traveltime.travel_time_matrix(g, inputs.demand.geometry, inputs.sites.geometry, cutoff=reach))
    n = m.shape[1]
    return plans.PlanData(m, np.full(len(before), np.inf), np.array([], int), sp.csr_array((0, n)), inputs.weights, np.zeros(n, bool),
                          plans.offences_per_point(inputs))  # fmt: skip


def analyse_structure(sc, inputs, network, tm, problem, sol, efficiency: dict | None = None) -> StructureAnalysis:
    """Office values, the kept / moved / added layer and the structure summary of a structure run."""
    existing = np.asarray(problem.existing, bool)
    T = float(sc.model.threshold_minutes)
    data = today_rows(network, inputs, existing, tm.before)
    allowed = ~np.asarray(problem.constraints.forbidden if problem.constraints.forbidden is not None else np.zeros(len(existing), bool), bool)
    today = np.flatnonzero(existing)
    vals = office_values(data, today, T, allowed)
    chosen = np.zeros(len(existing), bool)
    chosen[np.asarray(sol.open_sites, int)] = True
    s = inputs.sites
    st = inputs.stations.set_index("station_id") if "station_id" in inputs.stations.columns else None
    off = pd.DataFrame({
        "site_id": s.site_id.iloc[today].to_numpy(str), "name": s["name"].iloc[today].to_numpy(str),
        "office": (st.loc[s.site_id.iloc[today], "office"].to_numpy(str) if st is not None and "office" in st.columns
                   else s["name"].iloc[today].to_numpy(str)),
        "kommune": s.kommune.iloc[today].fillna("").to_numpy(str), "politidistrikt": s.politidistrikt.iloc[today].to_numpy(str),
        "in_chosen_structure": chosen[today],
        "pop_served": vals.pop_served.to_numpy(), "pop_beyond_T_if_closed": vals.pop_beyond_T_if_closed.to_numpy(),
        "time_loss_if_closed_pop_min": vals.time_loss_if_closed_pop_min.to_numpy(),
        "best_replacement": [_label(s, j) if j >= 0 else "" for j in vals.best_replacement],
        "best_replacement_site_id": [str(s.site_id.iloc[j]) if j >= 0 else "" for j in vals.best_replacement],
        "replacement_change_pop_min": vals.replacement_change_pop_min.to_numpy(),
    })  # fmt: skip
    off = off.sort_values(["time_loss_if_closed_pop_min", "site_id"], ascending=[True, True]).reset_index(drop=True)
    layer = structure_layer(inputs, existing, sol.open_sites)
    summary = structure_summary(sc, inputs, tm, existing, sol, data, efficiency)
    return StructureAnalysis(off, layer, summary)


def structure_summary(sc, inputs, tm, existing: np.ndarray, sol, data: plans.PlanData, efficiency: dict | None) -> dict:
    """Counts of kept / moved / added locations, today's and the chosen structure's headline, and
    (same size) the efficiency of today's structure."""
    T = float(sc.model.threshold_minutes)
    w = inputs.weights
    chosen = np.zeros(len(existing), bool)
    chosen[np.asarray(sol.open_sites, int)] = True
    out = {
        "mode": sc.existing.mode, "max_closed": sc.existing.max_closed, "today_locations": int(existing.sum()),
        "structure_locations": int(chosen.sum()), "kept": int((existing & chosen).sum()), "moved": int((existing & ~chosen).sum()),
        "added": int((~existing & chosen).sum()), "model": sol.model, "status": sol.status, "objective": sol.objective,
        "bound": sol.bound, "gap": sol.gap, "threshold_minutes": T,
        "today": plans.score_times(data, tm.before, T),
    }  # fmt: skip
    if efficiency is not None:
        out["efficiency"] = efficiency
    del w
    return out
