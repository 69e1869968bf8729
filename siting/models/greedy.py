"""Greedy MCLP heuristic with its a-priori bound (coverage is submodular: greedy ≥ (1 − 1/e) × optimum)."""

from __future__ import annotations

import math

import numpy as np

from .cover import coverage_matrix


def greedy_mclp(cost, weights, p: int, fixed, allowed, radius: float) -> tuple[np.ndarray, float, float]:
    """Pick ``p`` sites one at a time by largest newly covered population (ties: lowest index).

    Returns
    -------
    (selected, covered, upper_bound)
        ``upper_bound`` = covered / (1 − 1/e) on the part the new sites add (Nemhauser et al. 1978).
    """
    cov = coverage_matrix(cost, radius).tocsc()
    weights = np.asarray(weights, float)
    covered = np.zeros(cov.shape[0], bool)
    for j in np.flatnonzero(fixed):
        covered[cov.indices[cov.indptr[j] : cov.indptr[j + 1]]] = True
    base = float(weights[covered].sum())
    chosen = []
    cand = [int(j) for j in np.flatnonzero(allowed)]
    for _ in range(p):
        best, gain = -1, -1.0
        for j in cand:
            rows = cov.indices[cov.indptr[j] : cov.indptr[j + 1]]
            g = float(weights[rows][~covered[rows]].sum())
            if g > gain:
                best, gain = j, g
        if best < 0:
            break
        chosen.append(best)
        cand.remove(best)
        covered[cov.indices[cov.indptr[best] : cov.indptr[best + 1]]] = True
    total = float(weights[covered].sum())
    bound = base + (total - base) / (1 - 1 / math.e)
    return np.array(chosen, int), total, min(bound, float(weights.sum()))
