"""Sparse p-median rows with caps, and the heuristics on them (for structures with nothing fixed).

With today's offices fixed, every demand point's row ends at its nearest office (whatever opens, it
keeps that), so rows are short. With nothing fixed no such end exists (rows to a 90-min cutoff hold
5 M pairs at 2 km). Here each point's row holds the sites within its *cap* (minutes), sorted by
time; a point no site of its row serves is charged the cap (:class:`CappedRows`). The exact model
(:mod:`.benders`) needs only the start of each row (up to the point's service time) and asks for
longer rows where that is not enough, so memory follows the answer, not points × sites.

The heuristics price moves on the sorted rows: greedy addition, and vertex substitution (Teitz &
Bart 1968) with the decomposition of Whitaker (1983) and Resende & Werneck (2003) — ``profit =
gain_j − loss_r + extra_rj`` with ``gain_j = Σ_i (d1_i − c_ij)⁺``, ``loss_r = Σ_{i served by r} (d2_i
− d1_i)``, ``extra_rj = Σ_{i served by r, c_ij < d2_i} (d2_i − max(c_ij, d1_i))`` (``d1``, ``d2``: the
nearest and second nearest open cost, the cap when none): a step touches only the pairs cheaper
than each point's nearest (or second nearest) open site.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["CappedRows", "greedy", "interchange"]


class CappedRows:
    """The capped instance: per point its pairs cheaper than the cap, sorted by cost.

    Parameters
    ----------
    minutes : csr_array
        ``(n, m)`` drive minutes, stored entry = a reachable pair (0.0 included). Pairs at or beyond
        a point's cap are ignored.
    weights : ndarray
        Demand weight per point (points with weight 0 are left out).
    cap : ndarray
        Minutes charged to a point no site cheaper than its cap serves.
    allowed : ndarray of bool, optional
        Sites that may open (default all).
    """

    def __init__(self, minutes, weights, cap, allowed=None):
        t = sp.csr_array(minutes).tocoo()
        w = np.asarray(weights, float)
        cap = np.asarray(cap, float)
        n, m = t.shape
        allowed = np.ones(m, bool) if allowed is None else np.asarray(allowed, bool)
        self.shape = (n, m)
        self.points = np.flatnonzero(w > 0)  # the rows kept (index into the original points)
        pos = np.full(n, -1)
        pos[self.points] = np.arange(len(self.points))
        keep = (pos[t.row] >= 0) & allowed[t.col] & (t.data < cap[t.row])
        r, j, v = pos[t.row[keep]], t.col[keep], t.data[keep]
        self.w = w[self.points]
        self.cap_minutes = cap[self.points]
        self.cap = self.w * self.cap_minutes
        c = self.w[r] * v
        order = np.lexsort((j, c, r))
        # int32 indices: the rows are the memory (points × their sites within the cap, never points × sites)
        self.row, self.site, self.cost, self.minutes = r[order].astype(np.int32), j[order].astype(np.int32), c[order], v[order]
        self.n = len(self.points)
        self.m = m
        self.allowed = allowed
        self.indptr = np.r_[0, np.cumsum(np.bincount(self.row, minlength=self.n))]
        self._span = float(self.cap.max()) + 1.0 if self.n else 1.0
        self._flat = self.cost + self.row * self._span  # increasing over the whole array

    @property
    def nnz(self) -> int:
        return len(self.cost)

    def cap_of(self) -> np.ndarray:
        """Caps (minutes) per original point (``nan`` for points left out)."""
        out = np.full(self.shape[0], np.nan)
        out[self.points] = self.cap_minutes
        return out

    def extended(self, points: np.ndarray, minutes, cap: np.ndarray) -> CappedRows:
        """These rows with the rows of ``points`` (original indices) replaced by ``minutes`` (a
        ``(len(points), m)`` sparse block holding every pair within the new ``cap``)."""
        points = np.asarray(points, int)
        caps = np.where(np.isnan(self.cap_of()), 0.0, self.cap_of())
        caps[points] = cap
        keep = ~np.isin(self.points[self.row], points)
        new = sp.csr_array(minutes).tocoo()
        r = np.r_[self.points[self.row[keep]], points[new.row]]
        c = np.r_[self.site[keep], new.col]
        v = np.r_[self.minutes[keep], new.data]
        w = np.zeros(self.shape[0])
        w[self.points] = self.w
        return CappedRows(sp.csr_array((v, (r, c)), shape=self.shape), w, caps, self.allowed)

    def below(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, entry) of every pair with cost ``< v[point]``."""
        v = np.minimum(v, self.cap)
        rows = np.arange(self.n)
        cnt = np.searchsorted(self._flat, v + rows * self._span, side="left") - self.indptr[:-1]
        pos = np.repeat(self.indptr[:-1] - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(int(cnt.sum()))
        return np.repeat(rows, cnt), pos

    def nearest_two(self, open_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per point the nearest and second nearest open site (``-1``) and their costs (the cap when none)."""
        e = np.flatnonzero(open_mask[self.site])
        r = self.row[e]
        first = np.r_[True, r[1:] != r[:-1]] if len(e) else np.array([], bool)
        second = np.r_[False, first[:-1] & (r[1:] == r[:-1])] if len(e) else np.array([], bool)
        a1, a2 = np.full(self.n, -1), np.full(self.n, -1)
        d1, d2 = self.cap.copy(), self.cap.copy()
        a1[r[first]], d1[r[first]] = self.site[e[first]], self.cost[e[first]]
        a2[r[second]], d2[r[second]] = self.site[e[second]], self.cost[e[second]]
        return a1, d1, a2, d2

    def plan_cost(self, plan) -> float:
        """Capped cost of opening ``plan``."""
        mask = np.zeros(self.m, bool)
        mask[np.asarray(plan, int)] = True
        return float(self.nearest_two(mask)[1].sum())

    def uncapped(self, plan) -> np.ndarray:
        """Points (original indices) that ``plan`` serves only at or beyond their cap."""
        mask = np.zeros(self.m, bool)
        mask[np.asarray(plan, int)] = True
        return self.points[self.nearest_two(mask)[0] < 0]


def greedy(rows: CappedRows, p: int, start=()) -> list[int]:
    """Open ``start``, then each time the allowed site that lowers the capped cost most, until ``p`` are open."""
    chosen = [int(j) for j in start]
    taken = np.zeros(rows.m, bool)
    taken[chosen] = True
    cur = rows.nearest_two(taken)[1]
    while len(chosen) < p:
        r, e = rows.below(cur)
        gain = np.bincount(rows.site[e], weights=cur[r] - rows.cost[e], minlength=rows.m).astype(float)
        gain[taken | ~rows.allowed] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        taken[j] = True
        col = rows.site == j
        np.minimum.at(cur, rows.row[col], rows.cost[col])
    return chosen


def interchange(rows: CappedRows, chosen, keep_open=None, group=None, max_swaps: int | None = None) -> tuple[list[int], float]:
    """Vertex substitution from ``chosen``: the best swap (open ``j``, close ``r``) each round until none
    lowers the capped cost (or after ``max_swaps`` swaps); returns the plan and its capped cost.

    ``keep_open``: sites never closed (required). ``group``: ``(mask, minimum)`` — at least
    ``minimum`` open sites stay in ``mask`` (e.g. today's offices when only some may move).
    """
    chosen = [int(j) for j in chosen]
    m = rows.m
    swaps = 0
    slot = np.full(m, -1)
    slot[chosen] = np.arange(len(chosen))
    stay = np.zeros(m, bool) if keep_open is None else np.asarray(keep_open, bool)
    in_g = np.zeros(m, bool) if group is None else np.asarray(group[0], bool)
    g_min = 0 if group is None else int(group[1])
    while True:
        a1, d1, a2, d2 = rows.nearest_two(slot >= 0)
        r, e = rows.below(d1)
        gain = np.bincount(rows.site[e], weights=d1[r] - rows.cost[e], minlength=m).astype(float)
        gain[(slot >= 0) | ~rows.allowed] = -np.inf
        served = a1 >= 0
        loss = np.bincount(slot[a1[served]], weights=(d2 - d1)[served], minlength=len(chosen)).astype(float)
        plan = np.asarray(chosen)
        loss[stay[plan]] = np.inf
        tight = int(in_g[plan].sum()) <= g_min  # closing a group site must then open one of the group
        loss_any = loss
        loss_out = np.where(in_g[plan], np.inf, loss) if tight else loss
        best, best_r, best_j = -np.inf, -1, -1
        for jm, lm in ((in_g, loss_any), (~in_g, loss_out)):
            if (jm & np.isfinite(gain)).any() and np.isfinite(lm).any():
                j = int(np.argmax(np.where(jm, gain, -np.inf)))
                k = int(np.argmin(lm))
                if gain[j] - lm[k] > best:
                    best, best_r, best_j = gain[j] - lm[k], k, j
        r2, e2 = rows.below(d2)
        ok = a1[r2] >= 0
        r2, e2 = r2[ok], e2[ok]
        keys = slot[a1[r2]] * m + rows.site[e2]
        if len(keys):
            uk, inv = np.unique(keys, return_inverse=True)
            extra = np.bincount(inv, weights=d2[r2] - np.maximum(rows.cost[e2], d1[r2]))
            kr, kj = uk // m, uk % m
            prof = gain[kj] - np.where(in_g[kj], loss_any[kr], loss_out[kr]) + extra
            k = int(np.argmax(prof))
            if prof[k] > best:
                best, best_r, best_j = prof[k], int(kr[k]), int(kj[k])
        if not best > 1e-9 * max(1.0, float(d1.sum())) or (max_swaps is not None and swaps >= max_swaps):
            return chosen, float(d1.sum())
        swaps += 1
        out = chosen[best_r]
        chosen[best_r] = best_j
        slot[out], slot[best_j] = -1, best_r
