"""Stage 5, metrics: before/after figures, the per-site and per-municipality tables (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.demand import describe as describe_demand
from siting.models import Solution
from siting.pipeline.inputs_stage import Inputs, _wish_status_by_kommune
from siting.pipeline.matrix import TimeMatrix
from siting.pipeline.network_stage import Network
from siting.scenario import Scenario
from siting.style import ranked
from siting.uncertainty import headline_band


@dataclass
class RunMetrics:
    """Stage 5 result: what the run achieved.

    Attributes
    ----------
    metrics : dict
        ``metrics.json``: headline, national/district/county/size-class before and after.
    proposals : GeoDataFrame
        One row per new site (the one rank order, column ``rank``) with population served, newly within T, time saved.
    kommuner : GeoDataFrame
        Per municipality: mean time before/after, wish status, new offices.
    after : ndarray
        Minutes to the nearest open office per demand point (no cutoff).
    offices : DataFrame or None
        Per office (today's and the new ones): people and offences in its catchment before and after.
    """

    metrics: dict
    proposals: gpd.GeoDataFrame
    kommuner: gpd.GeoDataFrame
    after: np.ndarray
    offices: pd.DataFrame | None = None


PROPOSAL_COLUMNS = ["rank", "site_id", "name", "kommunenummer", "kommune", "politidistrikt", "source", "wish_status",
                    "stand_in", "pop_served", "pop_newly_covered", "time_saved_pop_min", "mean_time_saved", "geometry"]  # fmt: skip


def after_times(network: Network, inputs: Inputs, open_sites) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from the nearest open site to each demand point (no cutoff) and that site's index."""
    from siting import traveltime

    open_sites = np.asarray(open_sites, int)
    after, idx = traveltime.nearest_facility_time(network.graph, inputs.demand.geometry, inputs.sites.geometry.iloc[open_sites])
    nearest = np.where(idx >= 0, open_sites[np.maximum(idx, 0)] if len(open_sites) else -1, -1)
    return np.asarray(after, float), nearest


def headline(weights: np.ndarray, before: np.ndarray, after: np.ndarray, T: float) -> dict:
    """The headline numbers: share within T, mean, p90 and max minutes, before and after."""
    from siting.metrics import summarize

    nb, na = summarize(before, weights), summarize(after, weights)
    return {"share_within_T_before": float(weights[before <= T].sum() / weights.sum()),
            "share_within_T_after": float(weights[after <= T].sum() / weights.sum()),
            "mean_time_before": nb["mean"], "mean_time_after": na["mean"],
            "p90_before": nb["p90"], "p90_after": na["p90"], "max_before": nb["max"], "max_after": na["max"]}  # fmt: skip


def site_table(inputs: Inputs, selected, before: np.ndarray, after: np.ndarray, nearest: np.ndarray, T: float) -> gpd.GeoDataFrame:
    """Per new site, in the one rank order (:func:`siting.style.rank_order`: people newly within T,
    ties by site id): population whose nearest office it becomes, newly within T, time saved."""
    w = inputs.weights
    off = inputs.demand["offences"].to_numpy(float) if "offences" in inputs.demand.columns else None
    rows = []
    for rank, j in enumerate(np.asarray(selected, int), start=1):
        served = nearest == j
        saved = np.where(np.isfinite(before[served]), before[served], np.nan) - after[served]
        s = inputs.sites.iloc[j]
        rows.append({
            "rank": rank, "site_id": s.site_id, "name": s["name"], "kommunenummer": s.kommunenummer, "kommune": s.kommune,
            "politidistrikt": s.politidistrikt, "source": s.source, "wish_status": s.wish_status,
            "stand_in": isinstance(s.get("stand_in"), bool | np.bool_) and bool(s.get("stand_in")),
            "pop_served": float(w[served].sum()),
            "pop_newly_covered": float(w[served & (before > T) & (after <= T)].sum()),
            "time_saved_pop_min": float(np.nansum(w[served] * saved)),
            "mean_time_saved": float(np.nansum(w[served] * saved) / w[served].sum()) if w[served].sum() else 0.0,
            "geometry": s.geometry,
        })  # fmt: skip
        if off is not None:  # reported offences (a year) newly within T through this site
            rows[-1]["offences_newly_covered"] = float(off[served & (before > T) & (after <= T)].sum())
    if not rows:
        return gpd.GeoDataFrame(columns=PROPOSAL_COLUMNS, geometry="geometry", crs=25833)
    return ranked(gpd.GeoDataFrame(rows, geometry="geometry", crs=25833), "pop_newly_covered").reset_index(drop=True)


def compute_metrics_stage(sc: Scenario, inputs: Inputs, network: Network, tm: TimeMatrix, sol: Solution, band=None) -> RunMetrics:
    """Stage 5: before/after metrics, per-proposal and per-municipality tables, the headline's
    uncertainty band from ``band`` (:func:`siting.pipeline.band_stage.band_stage`; default: the
    run's times × each factor). No I/O."""
    from siting.metrics import compute_metrics, kommune_table

    T = sc.model.threshold_minutes
    before = tm.before
    after, nearest = after_times(network, inputs, sol.open_sites)
    demand, kommuner = inputs.demand, inputs.kommuner
    metrics = compute_metrics(demand, before, after, kommuner.set_index("kommunenummer")["population_2022"])
    graph = network.graph
    metrics = {"scenario": sc.name, "threshold_minutes": T, "network": graph.source, "is_estimate": bool(graph.is_estimate),
               "demand": describe_demand(demand), "headline": headline(inputs.weights, before, after, T), **metrics}  # fmt: skip
    # the uncertainty band of every headline figure: the same times under a low and a high drive-time assumption
    offences = demand["offences"].to_numpy(float) if inputs.offences is not None and "offences" in demand.columns else None
    at = {b.name: b.times(before, after) for b in band} if band is not None else None
    bands = headline_band(inputs.weights, before, after, T, offences, at=at)
    metrics["headline"].update({k: b["value"] for k, b in bands.items() if k not in metrics["headline"]})
    metrics["headline"]["band"] = bands
    proposals = site_table(inputs, sol.selected, before, after, nearest, T)
    status_by_k = _wish_status_by_kommune(kommuner, inputs.wishes)
    kom = kommuner.merge(kommune_table(demand, before, after), on="kommunenummer", how="left")
    if inputs.offences is not None:
        from siting.crime import add_per_1000, crime_metrics, kommune_crime_table

        metrics["crime"] = crime_metrics(demand, before, after, T, inputs.crime_info)
        c = metrics["crime"]["national"]
        metrics["headline"].update(share_offences_within_T_before=c["share_offences_within_T_before"],
                                   share_offences_within_T_after=c["share_offences_within_T_after"])  # fmt: skip
        kom = add_per_1000(kom.merge(kommune_crime_table(demand, before, after, T, inputs.offences), on="kommunenummer", how="left"))
    kom["wish_status"] = kom.kommunenummer.map(status_by_k).fillna("no answer on file")
    kom["offers_premises"] = kom["wish_status"].eq("asked_with_premises")
    kom["new_offices"] = kom.kommunenummer.map(proposals.groupby("kommunenummer").size() if len(proposals) else {}).fillna(0).astype(int)
    if inputs.wishes is not None:
        wanted = set(kom.kommunenummer[kom.wish_status.isin(["asked", "asked_with_premises"])])
        got = set(proposals.kommunenummer)
        declined = set(kom.kommunenummer[kom.wish_status.eq("declined")])
        metrics["wishes"] = {"asked": len(wanted), "asked_and_got_office": len(wanted & got),
                             "declined_but_got_office": len(declined & got),
                             "records": len(inputs.wishes), "records_by_evidence": inputs.wishes.evidence.value_counts().to_dict(),
                             "no_answer_on_file": int(kom.wish_status.eq("no answer on file").sum())}  # fmt: skip
        from siting.wishes import NATIONAL_AGGREGATES

        metrics["wishes"]["national_aggregates"] = NATIONAL_AGGREGATES  # shown on the map panel
    offices = presence_metrics(metrics, inputs, tm, sol, before, after, T)
    return RunMetrics(metrics, proposals, kom, after, offices)


def presence_metrics(metrics: dict, inputs: Inputs, tm: TimeMatrix, sol: Solution, before, after, T: float) -> pd.DataFrame:
    """Adds ``workload`` (people and offences per office's catchment, before/after; :mod:`siting.workload`)
    and ``centrality`` (per SSB class, the small-municipality gap, municipalities with an office;
    :mod:`siting.periphery`) to ``metrics``; returns the per-office table."""
    from siting import periphery, workload

    sites = inputs.sites
    labels = workload.site_office_labels(sites, inputs.stations)
    measures = {m: inputs.demand[m].to_numpy(float) for m in workload.MEASURES if m in inputs.demand}
    table = workload.office_loads(tm.cost, inputs.fixed, sol.selected, measures, labels)
    first = table["first_site"].to_numpy(int)
    office_name = inputs.stations.drop_duplicates("office_id").set_index("office_id")["office"] if "office" in inputs.stations else {}
    names = pd.Series([office_name.get(k, sites["name"].iloc[j]) if not new else f"{sites['name'].iloc[j]} ({sites.kommune.iloc[j]})"
                       for k, j, new in zip(table.index, first, table["new"], strict=True)], index=table.index)  # fmt: skip
    district = pd.Series(sites.politidistrikt.to_numpy(str)[first], index=table.index)
    metrics["workload"] = workload.workload_metrics(table, district, names, tuple(measures))
    if inputs.centrality is not None:
        cls = inputs.demand["centrality_class"].to_numpy()
        metrics["centrality"] = {
            **periphery.class_metrics(inputs.weights, cls, before, after, T),
            "municipalities_with_office": periphery.municipalities_with_office(sites.kommunenummer, inputs.fixed, sol.selected,
                                                                               inputs.centrality),
            "source": inputs.centrality.attrs.get("source"),
        }  # fmt: skip
    out = table.reset_index().rename(columns={"label": "office_id"})
    out.insert(1, "office", names.to_numpy())
    out.insert(2, "kommune", sites.kommune.to_numpy(str)[first])
    out.insert(3, "politidistrikt", district.to_numpy())
    return out.drop(columns="first_site")


