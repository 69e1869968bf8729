"""Coverage models: MCLP, LSCP / target coverage, backup coverage.

All three are built sparsely: only (demand, site) pairs within the service radius exist. Before a
model is built it is *reduced*: demand already covered by a fixed (existing) office leaves MCLP;
demand points with identical sets of covering candidates are merged (weights summed); candidate
columns with identical coverage and identical constraint labels are merged.
"""

from __future__ import annotations

import numpy as np
import pulp
import scipy.sparse as sp

from siting.errors import InfeasibleError, SitingError

from .base import SitingModel, Solution
from .cover import coverage_matrix, fixed_cover_count
from .greedy import greedy_mclp

__all__ = ["LSCP", "MCLP", "BackupCoverage", "aggregate_rows", "coverage_matrix", "fixed_cover_count"]


def aggregate_rows(cov: sp.csr_array, weights: np.ndarray, extra: np.ndarray | None = None):
    """Merge demand rows with identical coverage patterns (and identical ``extra`` key).

    Returns (unique matrix, summed weights, representative row index, inverse map).
    """
    cov = cov.tocsr()
    cov.sort_indices()
    keys = {}
    inverse = np.empty(cov.shape[0], dtype=np.int64)
    reps = []
    for i in range(cov.shape[0]):
        key = (cov.indices[cov.indptr[i] : cov.indptr[i + 1]].tobytes(), None if extra is None else extra[i])
        k = keys.get(key)
        if k is None:
            k = keys[key] = len(reps)
            reps.append(i)
        inverse[i] = k
    w = np.bincount(inverse, weights=weights, minlength=len(reps))
    return cov[reps], w, np.asarray(reps), inverse


class MCLP(SitingModel):
    """Maximal covering location problem (Church & ReVelle 1974).

    Maximise the population within ``service_radius`` minutes of an open office, opening exactly
    ``p_facilities`` new offices beside the fixed ones. Objective: covered population (fixed
    coverage included) plus any wish bonus.
    """

    name = "mclp"

    def build(self):
        radius = float(self.params.get("service_radius", 30.0))
        cov = coverage_matrix(self.cost, radius)
        covered_fixed = fixed_cover_count(cov, self.fixed) > 0
        self.base = float(self.weights[covered_fixed].sum())
        allowed = self.allowed()
        cand = cov[:, np.flatnonzero(allowed)]
        rest = np.flatnonzero(~covered_fixed & (cand.sum(axis=1) > 0) & (self.weights > 0))
        sub = cov[rest][:, np.flatnonzero(allowed)]
        u, w, _, _ = aggregate_rows(sub, self.weights[rest])
        keep = self._reduce_columns(u, np.flatnonzero(allowed))
        self.stats = {
            "demand_points": int(cov.shape[0]),
            "covered_by_fixed": int(covered_fixed.sum()),
            "demand_rows_in_model": int(u.shape[0]),
            "candidate_sites": int(allowed.sum()),
            "candidates_after_reduction": int(keep.sum()),
        }
        self._dropped = np.flatnonzero(allowed)[~keep]
        prob = pulp.LpProblem("mclp", pulp.LpMaximize)
        y = self._site_vars(prob)
        for j in self._dropped:  # identical or dominated columns: never needed in an optimum
            prob += y[int(j)] == 0, f"dominated_{j}"
        cand_ids = np.flatnonzero(allowed)
        z = [pulp.LpVariable(f"z_{i}", 0, 1) for i in range(u.shape[0])]
        u = u.tocsr()
        for i in range(u.shape[0]):
            cols = cand_ids[u.indices[u.indptr[i] : u.indptr[i + 1]]]
            prob += z[i] <= pulp.lpSum(y[int(j)] for j in cols), f"cover_{i}"
        prob += pulp.lpSum(float(w[i]) * z[i] for i in range(len(z))) + self.base + self._bonus(y)
        return prob, y

    def _reduce_columns(self, u: sp.csr_array, cand_ids: np.ndarray) -> np.ndarray:
        """Mask of candidate columns to keep: drop a column whose coverage (on the rows left in the
        model) is identical to, or contained in, another column with the same constraint labels
        (group labels, required flag, wish bonus); ties keep the lowest index. At least ``p``
        columns per label are always kept, so any optimum has a same-or-better equivalent."""
        c = self.constraints
        n = len(cand_ids)
        if n == 0:
            return np.zeros(0, bool)
        labels = [tuple(np.asarray(g).astype(str)[cand_ids]) for g in c.groups.values()] if c.max_per_group or c.min_per_group else []
        req = self._mask(c.required)[cand_ids]
        bonus = np.zeros(n) if c.wish_bonus is None else np.asarray(c.wish_bonus, float)[cand_ids]
        key = [tuple(lab[i] for lab in labels) + (bool(req[i]), float(bonus[i])) for i in range(n)]
        cols = sp.csc_array(u).astype(np.int32)
        size = np.asarray(cols.sum(axis=0)).ravel()
        overlap = (cols.T @ cols).tocoo()  # shared rows between pairs of columns
        keep = np.ones(n, bool)
        for a, b, shared in zip(overlap.row, overlap.col, overlap.data, strict=True):
            if a == b or not keep[b] or key[a] != key[b] or req[a]:
                continue
            # a is dominated by b: b covers everything a covers (strictly more, or the same and b first)
            if shared == size[a] and (size[b] > size[a] or b < a):
                keep[a] = False
        keep[(size == 0) & ~req] = False
        # keep at least p columns of every label (index order): a dropped column in an optimum can
        # then always be swapped for a kept, unopened one with the same labels at no loss
        by_key: dict[tuple, list[int]] = {}
        for i in range(n):
            by_key.setdefault(key[i], []).append(i)
        for members in by_key.values():
            kept = sum(keep[i] for i in members)
            for i in members:
                if kept >= self.p:
                    break
                if not keep[i]:
                    keep[i] = True
                    kept += 1
        return keep

    def rank(self, chosen: np.ndarray) -> np.ndarray:
        """Order chosen sites by marginal newly covered population (greedy; ties by index)."""
        allowed = np.zeros(self.n_sites, bool)
        allowed[np.asarray(chosen, int)] = True
        radius = float(self.params.get("service_radius", 30.0))
        return greedy_mclp(self.cost, self.weights, len(chosen), self.fixed, allowed, radius)[0]

    def heuristic(self) -> np.ndarray:
        radius = float(self.params.get("service_radius", 30.0))
        allowed = self.allowed() & ~self._mask(self.constraints.required)
        return greedy_mclp(self.cost, self.weights, self.p, self.fixed, allowed, radius)[0]

    def evaluate(self, chosen) -> float:
        """Covered population of fixed + ``chosen`` plus their wish bonus (the MCLP objective)."""
        radius = float(self.params.get("service_radius", 30.0))
        return float(self.weights[self.covered_count(chosen, radius) >= 1].sum()) + self.bonus_of(chosen)


class BackupCoverage(SitingModel):
    """Backup coverage (Hogan & ReVelle 1986; the police application of Curtin, Hayslett-McCall & Qiu 2010).

    Maximise ``coverage + backup_weight × population covered at least twice`` within
    ``service_radius``, fixed offices counted.
    """

    name = "backup"

    def build(self):
        radius = float(self.params.get("service_radius", 30.0))
        beta = float(self.params.get("backup_weight", 1.0))
        cov = coverage_matrix(self.cost, radius)
        n_fixed = np.minimum(fixed_cover_count(cov, self.fixed), 2)
        allowed = self.allowed()
        cand_ids = np.flatnonzero(allowed)
        sub = cov[:, cand_ids]
        reach = np.asarray(sub.sum(axis=1)).ravel()
        rows = np.flatnonzero((n_fixed + np.minimum(reach, 2) >= 1) & (self.weights > 0) & (n_fixed < 2))
        u, w, reps, _ = aggregate_rows(sub[rows], self.weights[rows], extra=n_fixed[rows])
        base = float(self.weights[n_fixed >= 1].sum() + beta * self.weights[n_fixed >= 2].sum())
        nf = n_fixed[rows][reps]
        prob = pulp.LpProblem("backup", pulp.LpMaximize)
        y = self._site_vars(prob)
        obj = []
        u = u.tocsr()
        for i in range(u.shape[0]):
            cols = cand_ids[u.indices[u.indptr[i] : u.indptr[i + 1]]]
            s = pulp.lpSum(y[int(j)] for j in cols)
            b = pulp.LpVariable(f"b_{i}", cat="Binary")  # binary: 2b ≤ 1 must not give b = ½
            prob += 2 * b <= s + float(nf[i]), f"backup_{i}"
            if nf[i] < 1:
                z = pulp.LpVariable(f"z_{i}", 0, 1)
                prob += z <= s, f"cover_{i}"
                obj.append(float(w[i]) * z)
            obj.append(beta * float(w[i]) * b)
        self.stats = {"demand_rows_in_model": int(u.shape[0]), "candidate_sites": int(allowed.sum())}
        prob += pulp.lpSum(obj) + base + self._bonus(y)
        return prob, y


    def evaluate(self, chosen) -> float:
        """Coverage + ``backup_weight`` × population covered twice, plus wish bonus (the objective)."""
        n = self.covered_count(chosen, float(self.params.get("service_radius", 30.0)))
        beta = float(self.params.get("backup_weight", 1.0))
        return float(self.weights[n >= 1].sum() + beta * self.weights[n >= 2].sum()) + self.bonus_of(chosen)


class LSCP(SitingModel):
    """Location set covering / target coverage: fewest new offices reaching a coverage target.

    ``target_share`` (e.g. 0.9) of the population within ``service_radius`` (e.g. 45 min),
    nationally or — with ``target_group`` naming a site/demand label such as ``politidistrikt`` —
    in every group (``demand_groups`` gives each demand point's label). This is the 2017 reform
    criterion "90 % of inhabitants within 45 minutes in every police district".
    ``p_facilities`` is ignored (it is the result).
    """

    name = "lscp"
    sense = pulp.LpMinimize

    def build(self):
        radius = float(self.params.get("service_radius", 45.0))
        share = float(self.params.get("target_share", 1.0))
        groups = self.params.get("demand_groups")
        cov = coverage_matrix(self.cost, radius)
        covered_fixed = fixed_cover_count(cov, self.fixed) > 0
        allowed = self.allowed()
        cand_ids = np.flatnonzero(allowed)
        sub = cov[:, cand_ids]
        labels = np.asarray(groups).astype(str) if groups is not None else np.full(cov.shape[0], "all")
        prob = pulp.LpProblem("lscp", pulp.LpMinimize)
        y = self._site_vars(prob, exact_p=False)
        sub = sub.tocsr()
        for g in sorted(set(labels)):
            in_g = labels == g
            need = share * self.weights[in_g].sum() - self.weights[in_g & covered_fixed].sum()
            if need <= 1e-9:
                continue
            rows = np.flatnonzero(in_g & ~covered_fixed & (np.asarray(sub.sum(axis=1)).ravel() > 0))
            possible = self.weights[rows].sum()
            if possible + 1e-9 < need:
                raise InfeasibleError(
                    f"{'group ' + g if groups is not None else 'nationally'}: target {share:.0%} within "
                    f"{radius:g} min cannot be reached even with every allowed candidate "
                    f"(max {(self.weights[in_g & covered_fixed].sum() + possible) / self.weights[in_g].sum():.1%})"
                )
            u, w, _, _ = aggregate_rows(sub[rows], self.weights[rows])
            zs = []
            for i in range(u.shape[0]):
                cols = cand_ids[u.indices[u.indptr[i] : u.indptr[i + 1]]]
                z = pulp.LpVariable(f"z_{g}_{i}", 0, 1)
                prob += z <= pulp.lpSum(y[int(j)] for j in cols), f"cover_{g}_{i}"
                zs.append(float(w[i]) * z)
            prob += pulp.lpSum(zs) >= need, f"target_{g}"
        prob += pulp.lpSum(y.values()) - self._bonus(y) * 1e-6
        if not prob.constraints or all(n.startswith(("required", "max_", "min_")) for n in prob.constraints):
            chosen = np.flatnonzero(self._mask(self.constraints.required))
            return self.make_solution(chosen, float(len(chosen)), "optimal", 0.0, float(len(chosen)), 0.0, "none", None), y
        return prob, y

    def evaluate(self, chosen) -> float:
        """Number of new sites (minus the tie-breaking wish bonus × 1e-6, as in the MIP)."""
        return float(len(chosen)) - 1e-6 * self.bonus_of(chosen)

    def heuristic(self) -> np.ndarray:
        raise SitingError("lscp: no solution reaching the coverage target within the time limit; raise solver.time_limit")

    def solve(self, solver="highs", time_limit=600, gap=0.0, log_path=None) -> Solution:
        sol = super().solve(solver, time_limit, gap, log_path)
        sol.objective = float(len(sol.selected))
        return sol
