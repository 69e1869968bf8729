"""Facility-location models for siting new police offices.

Every model takes plain arrays (:meth:`SitingModel.from_cost_matrix`) or GeoDataFrames
(:meth:`SitingModel.from_geodataframe`), keeps the existing offices open (``fixed``), honours
:class:`SiteConstraints` and returns a :class:`Solution` whose status is proven by the solver.
"""

from .base import SiteConstraints, SitingModel, Solution, assign_nearest
from .capacitated import CapacitatedMCLP, CapacitatedPMedian
from .coverage import LSCP, MCLP, BackupCoverage
from .greedy import greedy_mclp
from .load import LoadRelief, WeightedCriteria
from .median import Hybrid, PCenter, PMedian

MODELS = {"mclp": MCLP, "pmedian": PMedian, "pcenter": PCenter, "lscp": LSCP, "backup": BackupCoverage, "hybrid": Hybrid,
          "load": LoadRelief}
#: Variants with a workload limit per new office (``model.capacity`` in a scenario).
CAPACITATED = {"mclp": CapacitatedMCLP, "pmedian": CapacitatedPMedian}

__all__ = [
    "CAPACITATED", "LSCP", "MCLP", "MODELS", "BackupCoverage", "CapacitatedMCLP", "CapacitatedPMedian", "Hybrid",
    "LoadRelief", "PCenter", "PMedian", "SiteConstraints", "SitingModel", "Solution", "WeightedCriteria", "assign_nearest",
    "greedy_mclp",
]  # fmt: skip
