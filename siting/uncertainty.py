"""Uncertainty bands: every headline figure under a low and a high drive-time assumption.

The road network's times agree with sourced reference times only so far
(``data/validation/drive_times.csv``, ``siting network check``, docs/network.md): on the 31 road
rows the ratio tool / reference has median 1.00 and 10th–90th percentile 0.83–1.09. Read as "the
real time is the tool's time divided by the ratio", the real drive times of four trips in five lie
between the tool's × 1/1.09 = 0.92 and × 1/0.83 = 1.20. Ferry waits are the other unknown: the
run expects half a headway; a traveller may find the ferry at the quay or just missed it.

* ``low_times``: every drive minute (roads, off-road access, ferries on the flat speed rule)
  × 1/1.09, and no ferry wait;
* ``high_times``: every drive minute × 1/0.83, and a full headway's wait (twice the expected wait).

Published ferry crossing times are kept. Two ways to get a run's times under an assumption, both
exact (:mod:`siting.pipeline.band_stage` chooses):

* a network **without ferries** (or the straight-line estimator): every minute is driving, so the
  times are the run's own × the factor — no new network, matrix or search. Scaling every time by
  ``f`` is the same as comparing with ``T / f`` and multiplying minutes by ``f``; the matrix rows are
  cut at each point's time to its nearest existing office, which after scaling still holds every
  site that could serve it, so ``after = min(before, new sites in the row)`` stays exact and a
  coverage optimum under the assumption is the optimum on the run's matrix with radius ``T / f``;
* a network **with ferries**: the network is rebuilt with the assumption's speeds and waits
  (``speed_factor``, ``access_speed_kmh``, ``ferry_speed_kmh`` / f; ``ferry_wait`` 0 or
  ``full_headway``; cached like any network) and today's and the plan's times come from one
  nearest-office search each; a coverage optimum from a small matrix of the points beyond ``T``.

A figure's band is the range of its values over the three assumptions (the run's own times and
the two above): ``low ≤ value ≤ high`` always holds. A figure that grows with the minutes takes
its ends from the two assumptions; a ratio such as plan efficiency need not. See docs/uncertainty.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from siting.metrics import summarize

__all__ = ["ASSUMPTIONS", "ROAD_RATIO_P10", "ROAD_RATIO_P90", "Assumption", "band", "describe", "headline_band",
           "headline_figures", "difference", "scaled", "within_uncertainty"]  # fmt: skip

#: 10th and 90th percentile of tool / reference on the road rows of the bundled validation table,
#: default network (``siting network check``; tests/test_drive_time_validation.py keeps them in step).
ROAD_RATIO_P10 = 0.83
ROAD_RATIO_P90 = 1.09
#: Road rows behind them.
ROAD_ROWS = 31


@dataclass(frozen=True)
class Assumption:
    """A drive-time assumption: every drive minute × ``factor``; ferry waits × ``wait_scale``
    (0: none; 2: a full headway where the run expects half of one)."""

    name: str
    factor: float
    wait_scale: float
    why: str


#: The two assumptions of every band, low drive times first.
ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption("low_times", 1.0 / ROAD_RATIO_P90, 0.0,
               f"drive minutes × 1/{ROAD_RATIO_P90:g} (road ratio tool/reference, 90th percentile); no ferry wait"),
    Assumption("high_times", 1.0 / ROAD_RATIO_P10, 2.0,
               f"drive minutes × 1/{ROAD_RATIO_P10:g} (road ratio tool/reference, 10th percentile); a full headway's ferry wait"),
)  # fmt: skip


def describe(assumptions=ASSUMPTIONS, how: dict | None = None) -> dict:
    """The band's assumptions for ``manifest.json`` (``how``: what the band stage did per assumption)."""
    return {
        "method": "every headline figure recomputed under each assumption (the run's times × the factor on a network without "
                  "ferries; a network rebuilt with the assumption's speeds and ferry waits otherwise); the band is the range over "
                  "the run's own times and the assumptions (docs/uncertainty.md)",
        "assumptions": {a.name: {"factor": round(a.factor, 4), "ferry_wait_scale": a.wait_scale, "why": a.why,
                                 **((how or {}).get(a.name) or {})} for a in assumptions},
        "validation": {"table": "data/validation/drive_times.csv", "road_rows": ROAD_ROWS, "road_ratio_p10": ROAD_RATIO_P10,
                       "road_ratio_p90": ROAD_RATIO_P90},
    }  # fmt: skip


def band(value, at: dict) -> dict:
    """A figure with its band: ``{"value", "low", "high", <assumption>: value under it, ...}``.

    ``low``/``high`` are the least and greatest of ``value`` and the values under the assumptions
    (non-finite values are left out of the range; all non-finite: ``low = high = value``).
    """
    vals = [float(v) for v in (value, *at.values()) if v is not None and math.isfinite(float(v))]
    lo, hi = (min(vals), max(vals)) if vals else (value, value)
    return {"value": value, "low": lo, "high": hi, **at}


def headline_figures(weights: np.ndarray, before: np.ndarray, after: np.ndarray, T: float,
                     offences: np.ndarray | None = None) -> dict:  # fmt: skip
    """People and share within ``T``, mean and p90 minutes, before and after (and offences within T),
    and the people newly within ``T``."""
    w = np.asarray(weights, float)
    total = float(w.sum())
    out = {}
    for key, t in (("before", before), ("after", after)):
        t = np.asarray(t, float)
        s = summarize(t, w)
        inside = t <= T
        out[f"people_within_T_{key}"] = float(w[inside].sum())
        out[f"share_within_T_{key}"] = float(w[inside].sum() / total) if total else float("nan")
        out[f"mean_time_{key}"] = s["mean"]
        out[f"p90_{key}"] = s["p90"]
        if offences is not None:
            off = np.asarray(offences, float)
            out[f"offences_within_T_{key}"] = float(off[inside].sum())
            out[f"share_offences_within_T_{key}"] = float(off[inside].sum() / off.sum()) if off.sum() > 0 else float("nan")
    out["people_newly_within_T"] = out["people_within_T_after"] - out["people_within_T_before"]
    return out


def headline_band(weights: np.ndarray, before: np.ndarray, after: np.ndarray, T: float, offences: np.ndarray | None = None,
                  at: dict | None = None) -> dict:  # fmt: skip
    """:func:`headline_figures` with their bands (``{figure: band(...)}``).

    ``before``/``after``: the run's minutes from the nearest office today / with the plan (``inf`` =
    unreachable). ``at``: ``{assumption name: (before, after)}`` under each assumption; default:
    the run's times × each factor of :data:`ASSUMPTIONS` (exact on a network without ferries).
    """
    base = headline_figures(weights, before, after, T, offences)
    if at is None:
        at = {a.name: scaled(before, after, a.factor) for a in ASSUMPTIONS}
    figs = {n: headline_figures(weights, b, a, T, offences) for n, (b, a) in at.items()}
    return {k: band(v, {n: figs[n][k] for n in figs}) for k, v in base.items()}


def scaled(before: np.ndarray, after: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Every minute × ``factor`` (``inf`` stays ``inf``)."""
    return np.asarray(before, float) * factor, np.asarray(after, float) * factor


def within_uncertainty(a: dict, b: dict) -> bool:
    """Is the difference ``a − b`` of two banded figures (:func:`band` dicts from two runs, same
    assumptions) within the drive-time uncertainty?

    The difference is computed under every assumption (the run's own times included): when those
    differences do not all have the same strict sign, the order of the two plans depends on the
    drive-time assumption and the difference is within the uncertainty.
    """
    d = difference(a, b)
    return d is None or d["within"]


def difference(a: dict, b: dict) -> dict | None:
    """The band of ``a − b`` (two banded figures of two runs): the difference under the runs' own
    times and under every assumption both carry, with ``within``: the differences do not all have
    the same strict sign (see :func:`within_uncertainty`). None without a finite value."""
    if not (isinstance(a, dict) and isinstance(b, dict) and _finite(a.get("value")) and _finite(b.get("value"))):
        return None
    names = [k for k in a if k not in ("value", "low", "high") and k in b and _finite(a[k]) and _finite(b[k])]
    out = band(float(a["value"]) - float(b["value"]), {k: float(a[k]) - float(b[k]) for k in names})
    diffs = [out["value"], *(out[k] for k in names)]
    out["within"] = not (all(d > 0 for d in diffs) or all(d < 0 for d in diffs))
    return out


def _finite(v) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False
