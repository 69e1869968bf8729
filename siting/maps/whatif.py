"""What-if data of a run: every candidate site's effect on every demand point, compact enough for the map.

With today's nearest-office times ``before`` and, per candidate site, the demand points it reaches
faster than today's nearest office (the rows of :class:`siting.pipeline.TimeMatrix`, and the uncut
:class:`siting.pipeline.FarRows` for the points today's offices reach only beyond the cutoff), the
time to the nearest open office of *any* plan is ``after_i = min(before_i, min_{j in plan} t_ij)``
— exactly :func:`siting.plans.times`. The map page recomputes people and offences within T and the
mean drive time for any set of sites the reader picks from these arrays.

Times are quantised to ``QUANTUM`` minutes (integers) so that the threshold class is kept: a time
≤ T stays ≤ T, a time > T stays > T. People and offences within T are therefore exact; mean times
are within ``QUANTUM`` minutes (each point's time moves by at most half a step, one step at T).
Weights are stored as 32-bit floats (relative error ≤ 6·10⁻⁸ each).

The run writes these arrays to ``whatif.npz`` in its run folder (:func:`save`), from which
``siting map RUN`` redraws the page; :func:`encode` packs them for the page (varints, deflate,
base64), and ``siting/static/siting-whatif.js`` unpacks and evaluates them.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.io import atomic_path

#: minutes per stored time step
QUANTUM = 0.1
#: file in the run folder
FILE = "whatif.npz"
#: largest packed data a page embeds (characters of base64): at the default 2 km demand cells a
#: national run packs to about 0.6 MB; finer grids are left to the Python side (siting.plans)
MAX_PACKED = 1_500_000
#: bump when the arrays or the packed format change (``siting-whatif.js`` reads format 1 only)
FORMAT = 1
_SITE_COLS = ("site_id", "name", "kommune", "kommunenummer", "politidistrikt", "source", "lat", "lon", "stand_in", "allowed")


@dataclass
class WhatIf:
    """Everything the page needs to score any set of new sites, as plain arrays.

    Attributes
    ----------
    T : float
        Threshold in minutes.
    before : ndarray of int32
        Today's minutes to the nearest office per demand point, in ``QUANTUM`` steps (-1: unreachable).
    weights : ndarray
        Population per demand point.
    offences : ndarray or None
        Reported offences per demand point (a year).
    kommune : ndarray of int
        Municipality of each demand point (index into ``kommuner``).
    kommuner : DataFrame
        ``kommunenummer``, ``name``, ``politidistrikt`` per municipality.
    sites : DataFrame
        The sites a reader may open (the run's candidates, ``_SITE_COLS``): ``allowed`` is False
        for sites the scenario forbids.
    ptr, rows, times : ndarray of int
        Per site (column-major, like ``scipy.sparse.csc``): the demand points it reaches faster
        than today's nearest office and those times in ``QUANTUM`` steps.
    plans : dict
        Named sets of sites (positions in ``sites``): ``plan`` (the run's new sites), ``optimum``
        (the coverage optimum for the same number of sites, when known), ``decided`` (the offices
        decided in 2022-2024, when the run has them as sites).
    meta : dict
        ``optimum_label`` (``coverage``: an evaluate run's efficiency optimum; ``plan``: the run's
        own optimal plan) and ``scenario`` (the run's settings that an ``evaluate`` of the same
        sites needs, for the page's export).
    """

    T: float
    before: np.ndarray
    weights: np.ndarray
    offences: np.ndarray | None
    kommune: np.ndarray
    kommuner: pd.DataFrame
    sites: pd.DataFrame
    ptr: np.ndarray
    rows: np.ndarray
    times: np.ndarray
    plans: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @property
    def t_steps(self) -> int:
        """T in ``QUANTUM`` steps: a stored time ``q`` is within T when ``q <= t_steps``."""
        return threshold_steps(self.T)


def threshold_steps(T: float) -> int:
    return int(math.floor(T / QUANTUM + 1e-9))


def quantise(t: np.ndarray, T: float) -> np.ndarray:
    """Minutes → integer ``QUANTUM`` steps, rounded to the nearest step but never across T
    (``t <= T`` ⇔ ``q <= threshold_steps(T)``); ``inf`` → -1."""
    t = np.asarray(t, float)
    tq = threshold_steps(T)
    fin = np.isfinite(t)
    q = np.rint(np.where(fin, t, 0.0) / QUANTUM).astype(np.int64)
    q = np.where(t <= T, np.minimum(q, tq), np.maximum(q, tq + 1))
    return np.where(fin, q, -1)


def build(inputs, tm, far, T: float, plan, forbidden: np.ndarray | None = None, optimum=None, optimum_label: str = "",
          scenario: dict | None = None) -> WhatIf:  # fmt: skip
    """The what-if arrays of a run from its pipeline stages.

    Parameters
    ----------
    inputs, tm, far
        :class:`~siting.pipeline.Inputs`, :class:`~siting.pipeline.TimeMatrix`,
        :class:`~siting.pipeline.FarRows`.
    T : float
        Threshold (minutes).
    plan : sequence of int
        The run's new sites (indices into ``inputs.sites``).
    forbidden : ndarray of bool, optional
        Sites the scenario forbids (over ``inputs.sites``).
    optimum : sequence of int, optional
        The coverage optimum for the same number of sites (indices into ``inputs.sites``).
    scenario : dict, optional
        The run's scenario settings (for the export).
    """
    from siting.plans import offences_per_point

    fixed = inputs.fixed
    n_fixed = int(fixed.sum())
    assert not fixed[n_fixed:].any(), "existing offices come first among the sites"
    before = np.asarray(tm.before, float)
    bq = quantise(before, T)
    # entries: the matrix without its far rows, plus the uncut far rows; only times that beat today
    c = tm.cost.tocoo()
    is_far = np.zeros(len(before), bool)
    is_far[far.rows] = True
    keep = ~is_far[c.row] & (c.col >= n_fixed)
    r, s, t = c.row[keep], c.col[keep], c.data[keep]
    if sp.issparse(far.cost):  # stored = reachable
        f = sp.coo_array(far.cost)
        fr, fs, ft = f.row, f.col, f.data
    else:
        fr, fs = np.nonzero(np.isfinite(far.cost))
        ft = np.asarray(far.cost)[fr, fs]
    fs_keep = fs >= n_fixed
    r = np.r_[r, far.rows[fr[fs_keep]]]
    s = np.r_[s, fs[fs_keep]]
    t = np.r_[t, ft[fs_keep]]
    q = quantise(t, T)
    better = (q >= 0) & ((bq[r] < 0) | (q < bq[r]))
    r, s, q = r[better], s[better] - n_fixed, q[better]
    order = np.lexsort((r, s))
    r, s, q = r[order], s[order], q[order]
    n_sites = len(inputs.sites) - n_fixed
    ptr = np.r_[0, np.cumsum(np.bincount(s, minlength=n_sites))]

    cand = inputs.sites.iloc[n_fixed:].reset_index(drop=True)
    ll = cand.to_crs(4326).geometry
    stand = cand["stand_in"] if "stand_in" in cand.columns else pd.Series(False, index=cand.index)
    allowed = np.ones(n_sites, bool) if forbidden is None else ~np.asarray(forbidden, bool)[n_fixed:]
    sites = pd.DataFrame({
        "site_id": cand["site_id"].astype(str), "name": cand["name"].astype(str), "kommune": cand["kommune"].fillna("").astype(str),
        "kommunenummer": cand["kommunenummer"].astype(str), "politidistrikt": cand["politidistrikt"].astype(str),
        "source": cand["source"].fillna("").astype(str), "lat": ll.y.round(5).to_numpy(), "lon": ll.x.round(5).to_numpy(),
        "stand_in": stand.map(lambda v: v is True or (isinstance(v, np.bool_) and bool(v))).to_numpy(bool), "allowed": allowed,
    })  # fmt: skip

    kom = inputs.kommuner[["kommunenummer", "name", "politidistrikt"]].sort_values("kommunenummer").reset_index(drop=True)
    kidx = pd.Series(np.arange(len(kom)), index=kom.kommunenummer)
    kommune = kidx.reindex(inputs.demand["kommunenummer"].astype(str)).to_numpy()
    if np.isnan(kommune.astype(float)).any():
        raise ValueError("a demand point lies in no known municipality")

    def local(idx) -> list[int]:
        return [int(j) - n_fixed for j in idx if int(j) >= n_fixed]

    plans = {"plan": local(plan)}
    if optimum is not None and len(optimum):
        plans["optimum"] = local(optimum)
    decided = np.flatnonzero(sites["source"].eq("office opened later").to_numpy())
    if len(decided):
        plans["decided"] = [int(j) for j in decided]
    off = offences_per_point(inputs)
    return WhatIf(float(T), bq.astype(np.int32), inputs.weights.astype(float), None if off is None else np.asarray(off, float),
                  kommune.astype(np.int32), kom, sites, ptr.astype(np.int64), r.astype(np.int32), q.astype(np.int32), plans,
                  {"optimum_label": optimum_label, "scenario": scenario or {}})  # fmt: skip


# --- the same figures in Python (the page must agree) ----------------------------------------------------
def after_steps(w: WhatIf, sites) -> np.ndarray:
    """Per demand point, ``QUANTUM`` steps to the nearest open office with ``sites`` (positions in
    ``w.sites``) opened beside today's offices (-1: unreachable)."""
    big = np.iinfo(np.int64).max
    a = np.where(w.before < 0, big, w.before.astype(np.int64))
    for j in sites:
        r, t = w.rows[w.ptr[j] : w.ptr[j + 1]], w.times[w.ptr[j] : w.ptr[j + 1]]
        a[r] = np.minimum(a[r], t)
    return np.where(a == big, -1, a)


def evaluate(w: WhatIf, sites) -> dict:
    """What the page shows for ``sites``: people (and offences) within T, their share, the mean
    drive time, nationally and per police district."""
    a = after_steps(w, sites)
    weights = w.weights.astype(np.float32).astype(float)  # as stored in the page
    inside = (a >= 0) & (a <= w.t_steps)
    fin = a >= 0
    district = w.kommuner["politidistrikt"].to_numpy(str)[w.kommune]
    rate = offence_rate(w)
    off = None if w.offences is None else weights * np.asarray(rate)[w.kommune] if rate is not None else w.offences.astype(np.float32)

    def block(m):
        out = {"people_within_T": float(weights[m & inside].sum()), "population": float(weights[m].sum())}
        out["share_within_T"] = out["people_within_T"] / out["population"] if out["population"] else math.nan
        ok = m & fin
        out["mean_time"] = float((weights[ok] * a[ok]).sum() / weights[ok].sum() * QUANTUM) if weights[ok].sum() else math.nan
        if off is not None:
            out["offences_within_T"] = float(off[m & inside].sum())
        return out

    res = block(np.ones(len(a), bool))
    res["by_district"] = {d: block(district == d) for d in sorted(set(district))}
    return res


# --- run folder --------------------------------------------------------------------------------------------
def save(w: WhatIf, path: str | Path) -> Path:
    """Write the arrays to ``path`` (``whatif.npz``; atomic, no pickles)."""
    path = Path(path)
    arrays = {"format": np.array(FORMAT), "T": np.array(w.T), "before": w.before, "weights": w.weights, "kommune": w.kommune,
              "ptr": w.ptr, "rows": w.rows, "times": w.times, "meta": np.array(json.dumps({"plans": w.plans, **w.meta}, ensure_ascii=False))}  # fmt: skip
    if w.offences is not None:
        arrays["offences"] = w.offences
    for c in ("kommunenummer", "name", "politidistrikt"):
        arrays[f"kommuner_{c}"] = w.kommuner[c].to_numpy(str)
    for c in _SITE_COLS:
        v = w.sites[c].to_numpy()
        arrays[f"sites_{c}"] = v.astype(str) if v.dtype == object else v
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def load(path: str | Path) -> WhatIf | None:
    """The arrays of a run folder's ``whatif.npz``; None when the file is missing or of another format."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != FORMAT:
                return None
            meta = json.loads(str(z["meta"]))
            kom = pd.DataFrame({c: z[f"kommuner_{c}"].astype(str) for c in ("kommunenummer", "name", "politidistrikt")})
            sites = pd.DataFrame({c: z[f"sites_{c}"] for c in _SITE_COLS})
            for c in ("site_id", "name", "kommune", "kommunenummer", "politidistrikt", "source"):
                sites[c] = sites[c].astype(str)
            return WhatIf(float(z["T"]), z["before"], z["weights"], z["offences"] if "offences" in z else None, z["kommune"], kom,
                          sites, z["ptr"], z["rows"], z["times"], meta.pop("plans"), meta)  # fmt: skip
    except (OSError, KeyError, ValueError):
        return None


# --- packed for the page --------------------------------------------------------------------------------------
def _varint(a: np.ndarray) -> bytes:
    """Unsigned LEB128 of non-negative integers (vectorised)."""
    a = np.asarray(a, np.uint64)
    if not len(a):
        return b""
    nbytes = np.ones(len(a), np.int64)
    for k in range(1, 10):
        nbytes += a >= (np.uint64(1) << np.uint64(7 * k))
    out = np.empty(int(nbytes.sum()), np.uint8)
    pos = np.r_[0, np.cumsum(nbytes)[:-1]]
    v = a.copy()
    for k in range(int(nbytes.max())):
        live = nbytes > k
        byte = (v[live] & np.uint64(0x7F)).astype(np.uint8)
        more = nbytes[live] > k + 1
        out[pos[live] + k] = byte | (more.astype(np.uint8) << 7)
        v[live] >>= np.uint64(7)
    return out.tobytes()


def offence_rate(w: WhatIf) -> list[float] | None:
    """Offences per person per municipality when every demand point's offences are its population
    times its municipality's rate (as :func:`siting.crime.spread_offences` spreads them): the page
    then needs 356 numbers instead of one per point. None otherwise."""
    if w.offences is None:
        return None
    n = len(w.kommuner)
    wk = np.bincount(w.kommune, weights=w.weights, minlength=n)
    ok = np.bincount(w.kommune, weights=w.offences, minlength=n)
    rate = np.divide(ok, wk, out=np.zeros(n), where=wk > 0)
    expect = w.weights * rate[w.kommune]
    if not np.allclose(expect, w.offences, rtol=1e-9, atol=1e-12):
        return None
    return rate.tolist()


def encode(w: WhatIf) -> str:
    """One base64 string: deflate of a 4-byte header length, a JSON header (sites, municipalities,
    plans, section offsets) and binary sections (varints and 32-bit floats, little-endian).

    Sections: ``before`` (steps + 1; 0 = unreachable), ``count`` (entries per site), ``drow``
    (row deltas within a site; the first from 0), ``dt`` (today's steps minus the site's steps,
    ≥ 1, or the steps + 1 where today is unreachable), ``weights`` (float32), ``offences`` (float32,
    when present and not population × a municipal rate, :func:`offence_rate`), ``kommune`` (run lengths: municipality index, count).
    """
    s = w.sites
    counts = np.diff(w.ptr)
    first = np.zeros(len(w.rows), bool)
    first[w.ptr[:-1][counts > 0]] = True
    drow = np.where(first, w.rows, np.r_[0, np.diff(w.rows)])
    b = w.before[w.rows].astype(np.int64)
    dt = np.where(b < 0, w.times.astype(np.int64) + 1, b - w.times)
    assert (drow >= 0).all() and (dt >= 1).all()
    change = np.r_[True, w.kommune[1:] != w.kommune[:-1]]
    starts = np.flatnonzero(change)
    runs = np.c_[w.kommune[starts], np.diff(np.r_[starts, len(w.kommune)])].ravel()
    sections = {"before": _varint(w.before.astype(np.int64) + 1), "count": _varint(counts), "drow": _varint(drow),
                "dt": _varint(dt), "kommune": _varint(runs), "weights": w.weights.astype("<f4").tobytes()}  # fmt: skip
    rate = offence_rate(w)
    if w.offences is not None and rate is None:
        sections["offences"] = w.offences.astype("<f4").tobytes()
    offsets, pos = {}, 0
    for name, blob in sections.items():
        offsets[name] = [pos, len(blob)]
        pos += len(blob)
    header = {
        "format": FORMAT, "T": w.T, "quantum": QUANTUM, "t_steps": w.t_steps, "n_demand": len(w.before), "n_sites": len(s),
        "sections": offsets, "plans": w.plans, **w.meta, "offence_rate": rate, "offences": w.offences is not None,
        "kommuner": [w.kommuner["name"].tolist(), w.kommuner["kommunenummer"].tolist(), w.kommuner["politidistrikt"].tolist()],
        "sites": {c: (s[c].astype(int).tolist() if s[c].dtype == bool else s[c].tolist()) for c in _SITE_COLS},
    }  # fmt: skip
    hj = json.dumps(header, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    raw = struct.pack("<I", len(hj)) + hj + b"".join(sections.values())
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
