"""Facility-location models for siting new police offices.

Every model takes plain arrays (:meth:`SitingModel.from_cost_matrix`) or GeoDataFrames
(:meth:`SitingModel.from_geodataframe`), keeps the existing offices open (``fixed``), honours
:class:`SiteConstraints` and returns a :class:`Solution` whose status is proven by the solver.
"""

from .base import SiteConstraints, SitingModel, Solution, assign_nearest
from .coverage import LSCP, MCLP, BackupCoverage
from .greedy import greedy_mclp
from .median import Hybrid, PCenter, PMedian

MODELS = {"mclp": MCLP, "pmedian": PMedian, "pcenter": PCenter, "lscp": LSCP, "backup": BackupCoverage, "hybrid": Hybrid}

__all__ = [
    "LSCP", "MCLP", "MODELS", "BackupCoverage", "Hybrid", "PCenter", "PMedian", "SiteConstraints", "SitingModel",
    "Solution", "assign_nearest", "greedy_mclp",
]  # fmt: skip
