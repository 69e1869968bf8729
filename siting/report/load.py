"""Run and sweep folders as the report reads them (never solving again)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from siting.errors import SitingError
from siting.i18n import Lang, plan_title
from siting.style import ranked


@dataclass
class Run:
    path: Path
    metrics: dict
    manifest: dict
    kommuner: pd.DataFrame
    proposals: pd.DataFrame
    explain: pd.DataFrame | None
    efficiency: dict | None
    demand: pd.DataFrame | None

    @property
    def name(self) -> str:
        return self.manifest["scenario"]

    def title(self, lang: Lang) -> str:
        return plan_title(self.manifest, lang, len(self.manifest.get("new_sites", [])))


@dataclass
class Sweep:
    path: Path
    meta: dict
    runs: pd.DataFrame
    frequency: pd.DataFrame | None
    frequency_kommuner: pd.DataFrame | None
    marginal: pd.DataFrame | None
    pareto: pd.DataFrame | None
    timings: dict

    @property
    def name(self) -> str:
        return str(self.meta["scenario"])


@dataclass
class Criteria:
    """An explain folder with the criteria ledger (``criteria.csv``) and/or ``revealed.json``."""

    path: Path
    meta: dict

    @property
    def name(self) -> str:
        return str(self.meta.get("scenario", self.path.name))


def _csv(path: Path, **kw) -> pd.DataFrame | None:
    return pd.read_csv(path, **kw) if path.exists() else None


def load_source(path: str | Path) -> Run | Sweep | Criteria:
    """A run folder, a sweep folder or an explain folder with the criteria ledger / revealed weights. The new sites of a run come in the one rank order
    (:func:`siting.style.ranked`), also for run folders written before it was unified."""
    from siting.compare import load_demand, load_run

    path = Path(path)
    if (path / "sweep.json").exists():
        return Sweep(path, json.loads((path / "sweep.json").read_text(encoding="utf-8")), pd.read_csv(path / "runs.csv"),
                     _csv(path / "frequency.csv", dtype={"kommunenummer": str, "robust_core_at_p": str}),
                     _csv(path / "frequency_kommuner.csv", dtype={"kommunenummer": str, "robust_core_at_p": str}), _csv(path / "marginal.csv"),
                     _csv(path / "pareto.csv"), json.loads((path / "timings.json").read_text(encoding="utf-8")))  # fmt: skip
    if not (path / "manifest.json").exists():
        if (path / "criteria.csv").exists() or (path / "revealed.json").exists():
            meta = path / "criteria_meta.json"
            return Criteria(path, json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {})
        raise SitingError("not a run folder (manifest.json), a sweep folder (sweep.json) or an explain folder with criteria.csv "
                          "or revealed.json", path=path)  # fmt: skip
    metrics, manifest, kommuner = load_run(path)
    eff = json.loads((path / "efficiency.json").read_text(encoding="utf-8")) if (path / "efficiency.json").exists() else None
    proposals = ranked(pd.read_csv(path / "proposals.csv", dtype={"kommunenummer": str}), "pop_newly_covered")
    explain = _csv(path / "explain.csv")
    if explain is not None:
        explain = ranked(explain, "pop_newly_within_T")
    return Run(path, metrics, manifest, kommuner, proposals, explain, eff, load_demand(path))
