"""Compact exact p-median: the radius (covering) formulation with shared prefixes.

For demand point ``i`` sort the candidate sites strictly closer than its fallback time ``b_i``
(the nearest fixed or required office, else the unreachable penalty) by time and group equal
times into *levels* ``S_i1, S_i2, …`` with times ``D_i1 < D_i2 < … < D_iK`` and ``D_i,K+1 = b_i``.
Its time to the nearest open site is

    D_i1 + Σ_k (D_i,k+1 − D_ik) · z_ik,   z_ik = max(0, 1 − Σ_{j ∈ S_i1 ∪ … ∪ S_ik} y_j)

(Cornuéjols, Nemhauser & Wolsey 1980; Elloumi 2010; García, Labbé & Marín 2011). ``z_ik`` is
written as a chain ``z_ik + Σ_{j ∈ S_ik} y_j ≥ z_i,k−1`` (``z_i0 = 1``), so a row needs one
variable per level and ``|S_ik|`` + 2 coefficients per level instead of one constraint per
prefix; the chain gives the same minimum ``z`` for any ``y`` (fractional too), so the LP
relaxation equals that of the classical assignment formulation.

**Shared prefixes.** Two demand points whose first ``k`` levels are the same site sets share the
same ``z_k`` (their constraints are identical), with summed objective coefficients: the rows
form a trie, one variable per trie node. Demand points snapped to the same road node (the same
site order) collapse entirely — the exact demand reduction — and neighbouring points share their
first levels.

**Truncation.** With exactly ``p`` of ``n`` allowed candidates open, any ``n − p + 1`` of them
contain an open one: a row's levels stop once they hold ``n − p + 1`` sites (``z = 0`` beyond).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class RadiusModel:
    """The trie of a p-median instance.

    Attributes
    ----------
    parent : ndarray of int
        Per trie node, its parent node (``-1``: the root, ``z_parent = 1``).
    level_ptr, level_sites : ndarray of int
        CSR: the sites of each node's level.
    coef : ndarray of float
        Objective coefficient of each node's ``z`` (population × minutes, ≥ 0).
    constant : float
        ``Σ_i w_i D_i1`` (each row's best possible time; ``b_i`` for rows without levels).
    rows_in_model : int
        Demand rows with at least one level.
    """

    parent: np.ndarray
    level_ptr: np.ndarray
    level_sites: np.ndarray
    coef: np.ndarray
    constant: float
    rows_in_model: int

    @property
    def n_nodes(self) -> int:
        return len(self.parent)


def build_radius(cost: sp.csr_array, weights: np.ndarray, base: np.ndarray, allowed: np.ndarray, p: int | None,
                 fallback: np.ndarray | None = None) -> RadiusModel:  # fmt: skip
    """Build the trie (see module docstring).

    Parameters
    ----------
    cost : csr_array
        ``(n_demand, n_sites)`` minutes (stored = reachable).
    weights : ndarray
        Demand weights (rows with weight 0 are left out).
    base : ndarray
        Per demand point, the time it has whatever opens (nearest fixed/required site, or the
        unreachable penalty); only strictly closer allowed sites enter its levels.
    allowed : ndarray of bool
        Sites that may open (the ``y`` variables).
    p : int or None
        Exactly ``p`` allowed sites open (enables the ``n − p + 1`` truncation); ``None``: no truncation.
    fallback : ndarray, optional
        Per demand point, its time when none of its level sites opens (default ``base``; at least
        ``base``): a truncation of the levels at ``base`` with a penalty beyond it.
    """
    weights = np.asarray(weights, float)
    base = np.asarray(base, float)
    fallback = base if fallback is None else np.asarray(fallback, float)
    c = sp.csr_array(cost).tocoo()
    keep = allowed[c.col] & (c.data < base[c.row]) & (weights[c.row] > 0)
    r, j, t = c.row[keep], c.col[keep], c.data[keep]
    order = np.lexsort((j, t, r))  # per row by time, ties by site
    r, j, t = r[order], j[order], t[order]
    n_allowed = int(allowed.sum())
    if p is not None and len(r):
        # position of each entry within its row: drop entries whose level starts at or after n − p + 1 sites
        start = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
        pos = np.arange(len(r)) - np.repeat(start, np.diff(np.r_[start, len(r)]))
        new_level = np.ones(len(r), bool)
        new_level[1:] = (r[1:] != r[:-1]) | (t[1:] != t[:-1])
        level_start_pos = _level_start(pos, new_level)
        ok = level_start_pos < n_allowed - p + 1
        r, j, t = r[ok], j[ok], t[ok]
    new_level = np.ones(len(r), bool)
    new_level[1:] = (r[1:] != r[:-1]) | (t[1:] != t[:-1])
    # levels: (row, time, sites)
    lv_first = np.flatnonzero(new_level)
    lv_row, lv_time = r[lv_first], t[lv_first]
    lv_size = np.diff(np.r_[lv_first, len(r)])
    # a level's key: its site if single, else an id per distinct site set
    n_sites = cost.shape[1]
    lv_key = j[lv_first].astype(np.int64)
    multi = np.flatnonzero(lv_size > 1)
    if len(multi):
        ids: dict[bytes, int] = {}
        for k in multi:
            s = j[lv_first[k] : lv_first[k] + lv_size[k]].tobytes()
            lv_key[k] = n_sites + ids.setdefault(s, len(ids))
    n_keys = n_sites + (len(ids) if len(multi) else 0)
    # depth of each level within its row
    row_first = np.r_[0, np.flatnonzero(np.diff(lv_row)) + 1] if len(lv_row) else np.array([], int)
    depth = np.arange(len(lv_row)) - np.repeat(row_first, np.diff(np.r_[row_first, len(lv_row)]))
    # next time of each level: the row's next level, or its base
    last = np.r_[lv_row[1:] != lv_row[:-1], True] if len(lv_row) else np.array([], bool)
    nxt = np.where(last, fallback[lv_row], np.r_[lv_time[1:], 0.0])
    gain = weights[lv_row] * (nxt - lv_time)
    # trie: node of each level, depth by depth (key = parent node, level key)
    node = np.full(len(lv_row), -1, np.int64)
    parents, keys = [], []
    n_nodes = 0
    max_depth = int(depth.max()) + 1 if len(depth) else 0
    by_depth = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[by_depth], np.arange(max_depth + 1))
    for d in range(max_depth):
        idx = by_depth[bounds[d] : bounds[d + 1]]
        par = node[idx - 1] if d else np.full(len(idx), -1, np.int64)
        key = (par + 1) * n_keys + lv_key[idx]
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        node[idx] = n_nodes + inv
        parents.append(par[first])
        keys.append(idx[first])  # a representative level per node
        n_nodes += len(uniq)
    parent = np.concatenate(parents) if parents else np.array([], np.int64)
    rep = np.concatenate(keys) if keys else np.array([], np.int64)
    coef = np.bincount(node, weights=gain, minlength=n_nodes) if n_nodes else np.zeros(0)
    size = lv_size[rep]
    level_ptr = np.r_[0, np.cumsum(size)]
    level_sites = j[_ranges(lv_first[rep], size)]
    # constant: every row's best time (first level, or base when it has none)
    first_time = np.full(len(weights), np.nan)
    first_time[lv_row[depth == 0]] = lv_time[depth == 0]
    best = np.where(np.isnan(first_time), fallback, first_time)
    pos_w = weights > 0
    constant = float(np.dot(weights[pos_w], best[pos_w]))
    return RadiusModel(parent, level_ptr, level_sites, coef, constant, int((depth == 0).sum()))


def _ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    return np.repeat(start - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(int(count.sum()))


def _level_start(pos: np.ndarray, new_level: np.ndarray) -> np.ndarray:
    """Per entry, the in-row position where its level starts."""
    idx = np.where(new_level, np.arange(len(pos)), 0)
    np.maximum.accumulate(idx, out=idx)
    return pos[idx]


def radius_cost(rm: RadiusModel, open_mask: np.ndarray) -> float:
    """Objective of a 0/1 site choice under the trie (for checks): constant + Σ coef · z."""
    z = np.zeros(rm.n_nodes)
    for k in range(rm.n_nodes):  # parents come before children (built depth by depth)
        par = 1.0 if rm.parent[k] < 0 else z[rm.parent[k]]
        z[k] = max(0.0, par - open_mask[rm.level_sites[rm.level_ptr[k] : rm.level_ptr[k + 1]]].sum())
    return rm.constant + float(np.dot(rm.coef, z))
