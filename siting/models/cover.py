"""Coverage sets: which demand points each site reaches within the service radius.

Shared by the exact coverage models (:mod:`.coverage`) and the greedy heuristic (:mod:`.greedy`),
so that neither imports the other's module for it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def coverage_matrix(cost: sp.csr_array, radius: float) -> sp.csr_array:
    """Boolean (as int8) sparse matrix of pairs within ``radius`` minutes."""
    c = cost.tocoo()
    ok = c.data <= radius + 1e-9
    return sp.csr_array((np.ones(ok.sum(), np.int8), (c.row[ok], c.col[ok])), shape=cost.shape)


def fixed_cover_count(cov: sp.csr_array, fixed: np.ndarray) -> np.ndarray:
    """Number of fixed (existing) sites covering each demand row of a coverage matrix."""
    if not fixed.any():
        return np.zeros(cov.shape[0], dtype=np.int64)
    return np.asarray(cov[:, np.flatnonzero(fixed)].sum(axis=1)).ravel()
