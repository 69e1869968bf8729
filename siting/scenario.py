"""Scenario files (``scenarios/*.yaml``): the pydantic schema and loading with YAML line numbers.

Every field is documented in ``docs/scenarios.md``. Unknown keys are errors; every error is
reported with its YAML line and the allowed values.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from siting import safe_yaml
from siting.errors import SitingError
from siting.network import NetworkSpec
from siting.network.graph import UserPath
from siting.wishes.schema import Evidence

#: Scenario names: plain identifiers, never path parts ("." and ".." excluded by the first character).
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

#: Lists of site names that may hold municipality numbers (``5401``; ``0301`` must keep its zero).
SITE_LISTS = (("constraints", "required_sites"), ("constraints", "forbidden_sites"), ("sites",))


class _Strict(BaseModel):
    """Unknown fields are errors; numbers are numbers (not booleans or quoted text) and finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class CapacitySettings(_Strict):
    max_per_office: float = Field(gt=0, description="most workload one new office takes (in `measure` units)")
    measure: Literal["population", "offences", "weight"] = Field("weight", description="what the limit counts")
    split_demand: bool = Field(True, description="a demand cell may be served by two offices (false: whole)")


class LoadSettings(_Strict):
    measure: Literal["population", "offences", "weight"] = Field("offences", description="what an office's catchment load counts")
    norm: float | None = Field(None, ge=0, le=1e12, description="load per office counted as normal (default: national mean per office after the plan)")


class ModelSettings(_Strict):
    type: Literal["mclp", "pmedian", "pcenter", "lscp", "backup", "hybrid", "load", "evaluate", "none"] = "mclp"
    threshold_minutes: float = Field(30.0, ge=1, le=600, description="service radius T")
    target_share: float = Field(0.9, gt=0, le=1, description="LSCP target share of population within T")
    target_scope: Literal["national", "district"] = "national"
    then_best: bool = Field(False, description="LSCP: after the minimum, spend the rest of new_offices by MCLP")
    objective_weights: dict[Literal["coverage", "time"], float] = Field(default_factory=lambda: {"coverage": 1.0, "time": 0.01})
    lexicographic: bool = False
    backup_weight: float = Field(1.0, ge=0, le=1000)
    capacity: CapacitySettings | None = Field(None, description="workload limit per new office (mclp, pmedian)")
    load: LoadSettings = Field(default_factory=LoadSettings, description="catchment load: metrics, and model.type load (relief of overloaded offices)")

    @field_validator("objective_weights")
    @classmethod
    def _non_negative(cls, v: dict) -> dict:
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must be >= 0 (the time term is already subtracted)")
        return v

    @model_validator(mode="after")
    def _capacity_model(self):
        if self.capacity is not None and self.type not in ("mclp", "pmedian"):
            raise ValueError(f"model.capacity works with model.type mclp or pmedian, not {self.type}")
        return self


class OffenceSettings(_Strict):
    period: Literal["2020-2021", "2021-2022", "2022-2023"] = Field("2021-2022", description="SSB 08487 two-year average")
    group: Literal["all", "property_theft", "violence", "drugs", "public_order", "traffic", "other"] = "all"
    file: UserPath | None = Field(None, description="a crime table in the bundle's format (default: bundled SSB 08487)")


def _centrality_classes(v: list[int]) -> list[int]:
    if not v or len(set(v)) != len(v) or any(c not in range(1, 7) for c in v):
        raise ValueError("list SSB centrality classes 1-6 (1 most central, 6 least), each once, e.g. [5, 6]")
    return sorted(v)


class CentralityBound(_Strict):
    classes: list[int] = Field(default_factory=lambda: [5, 6], description="SSB centrality classes (1 most central … 6 least)")
    count: int = Field(ge=0, le=10_000, description="at least this many new offices in municipalities of these classes")

    @field_validator("classes")
    @classmethod
    def _classes(cls, v: list[int]) -> list[int]:
        return _centrality_classes(v)


class DemandSettings(_Strict):
    source: Literal["auto", "grid", "places"] = "auto"
    grid_file: UserPath | None = None
    cell_size_m: float = Field(2000.0, ge=250, le=100_000, description="demand resolution: aggregate the 250 m grid to cells of this size")
    weight: Literal["population", "offences", "centrality"] | dict[Literal["population", "offences", "centrality"], float] = Field(
        "population", description="model weight per demand point: population, offences, centrality or {population: a, offences: b, centrality: c}")
    centrality_classes: list[int] = Field(default_factory=lambda: [5, 6],
                                          description="SSB centrality classes the 'centrality' weight counts (5-6: least central)")
    offences: OffenceSettings = Field(default_factory=OffenceSettings)

    @field_validator("cell_size_m")
    @classmethod
    def _whole_grid_cells(cls, v: float) -> float:
        if v % 250:
            raise ValueError("must be a multiple of the SSB grid's 250 m cells, e.g. 250, 1000 or 2000")
        return v

    @field_validator("centrality_classes")
    @classmethod
    def _classes(cls, v: list[int]) -> list[int]:
        return _centrality_classes(v)

    @model_validator(mode="after")
    def _weight(self):
        if isinstance(self.weight, dict) and (any(v < 0 for v in self.weight.values()) or sum(self.weight.values()) <= 0):
            raise ValueError("demand.weight shares must be >= 0 and not all 0")
        return self


CandidateSource = Literal["n1000_place", "n1000_builtup", "geonames", "ssb_cluster", "kommune_point"]


class CandidateSettings(_Strict):
    sources: list[CandidateSource] = Field(
        default_factory=lambda: ["n1000_place", "n1000_builtup", "geonames", "ssb_cluster", "kommune_point"],
        description="candidate sources in priority order (docs/candidates.md)",
    )
    dedup_distance_m: float = Field(1000.0, ge=0, le=20000, description="drop a candidate this close to one of higher priority")
    min_distance_to_station_m: float = Field(2000.0, ge=0, le=100_000)
    extra_points: UserPath | None = Field(None, description="CSV with name, lon, lat")
    extra_points_max_offshore_m: float = Field(1000.0, ge=0, le=20000, description="how far off the land area a user point may lie")

    @model_validator(mode="after")
    def _some_source(self):
        if len(set(self.sources)) != len(self.sources):
            raise ValueError("a source is listed twice")
        if not self.sources and self.extra_points is None:
            raise ValueError("no candidate sources: list at least one source or give extra_points")
        return self


class NetworkSettings(NetworkSpec):
    cutoff_minutes: float = Field(90.0, ge=1, le=1440)


class WishSettings(_Strict):
    file: UserPath | None = None
    exclude_declined: bool = False
    asked_with_premises: Literal["ignore", "bonus", "require"] = "ignore"
    asked: Literal["ignore", "bonus"] = Field("ignore", description="bonus for municipalities that asked (premises or not)")
    bonus: float = Field(0.05, ge=0, le=100, description="bonus as a share of the objective of one average site")
    exclude_min_evidence: Evidence = Field("formal answer", description="weakest evidence of a 'no' that excludes sites")
    bonus_min_evidence: Evidence = Field("formal answer", description="weakest evidence of a 'yes' that earns the bonus")


class ConstraintSettings(_Strict):
    max_per_kommune: int | None = Field(None, ge=0)
    max_per_district: int | None = Field(None, ge=0)
    min_per_district: int | None = Field(None, ge=0)
    required_sites: list[str] = Field(default_factory=list)
    forbidden_sites: list[str] = Field(default_factory=list)
    min_in_centrality_classes: CentralityBound | None = Field(None, description="at least count new offices in these centrality classes")


class ExistingSettings(_Strict):
    mode: Literal["fixed", "greenfield", "relocate"] = Field(
        "fixed", description="today's offices: fixed (always open), greenfield (nothing fixed) or relocate (up to max_closed move)")
    max_closed: int | None = Field(None, ge=1, description="relocate: at most this many of today's office locations close")
    offices: int | None = Field(None, ge=1, description="greenfield: office locations in the structure (default: today's + new_offices)")

    @model_validator(mode="after")
    def _mode_fields(self):
        if self.mode == "relocate" and self.max_closed is None:
            raise ValueError("mode relocate needs max_closed (how many of today's office locations may close, e.g. 10)")
        if self.max_closed is not None and self.mode != "relocate":
            raise ValueError(f"max_closed works with mode relocate, not {self.mode}")
        if self.offices is not None and self.mode != "greenfield":
            raise ValueError(f"offices (the structure's size) works with mode greenfield, not {self.mode}")
        return self


#: Models that can choose a whole structure (``existing.mode`` greenfield or relocate).
STRUCTURE_MODELS = ("pmedian", "mclp", "pcenter")


class SolverSettings(_Strict):
    name: Literal["highs", "cbc"] = "highs"
    time_limit: float = Field(600.0, gt=0, le=604_800)
    gap: float = Field(0.0, ge=0, lt=1)


class OutputSettings(_Strict):
    map: bool = True
    maps_copy: bool = True
    language: Literal["nb", "en"] = Field("nb", description="language of the map, report and plots: nb (bokmål) or en")


class Scenario(_Strict):
    """A siting scenario (see docs/scenarios.md)."""

    name: str = Field(description="plain identifier; names the run folder runs/<name>")
    title: str = Field("", max_length=200, description="the plan's name for readers of the map and report (free text)")
    description: str = ""
    new_offices: int = Field(20, ge=0)
    model: ModelSettings = Field(default_factory=ModelSettings)
    demand: DemandSettings = Field(default_factory=DemandSettings)
    candidates: CandidateSettings = Field(default_factory=CandidateSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    wishes: WishSettings = Field(default_factory=WishSettings)
    constraints: ConstraintSettings = Field(default_factory=ConstraintSettings)
    existing: ExistingSettings = Field(default_factory=ExistingSettings)
    sites: list[str] = Field(default_factory=list, description="evaluate: the plan's sites (place or municipality names)")
    solver: SolverSettings = Field(default_factory=SolverSettings)
    outputs: OutputSettings = Field(default_factory=OutputSettings)
    inputs: dict[str, UserPath] = Field(default_factory=dict,
                                    description="a file per named input (`siting data info`); beats the cache and the bundle")  # fmt: skip

    @field_validator("inputs")
    @classmethod
    def _known_inputs(cls, v: dict[str, Path]) -> dict[str, Path]:
        from siting.inputs import REGISTRY

        unknown = sorted(set(v) - set(REGISTRY))
        if unknown:
            raise ValueError(f"unknown input {unknown[0]!r}; allowed: {', '.join(REGISTRY)}")
        return v

    def input_paths(self) -> dict[str, Path]:
        """The scenario's file per named input: ``inputs:`` plus ``demand.grid_file``, ``network.path``,
        ``demand.offences.file`` and ``wishes.file``."""
        out = dict(self.inputs)
        for name, value in self._field_inputs():
            if value is not None:
                out[name] = value
        return out

    def _field_inputs(self) -> tuple:
        return (("population_grid", self.demand.grid_file), ("roads", self.network.path),
                ("crime", self.demand.offences.file), ("wishes", self.wishes.file))  # fmt: skip

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not NAME_RE.fullmatch(v):
            raise ValueError(f"'{v}' is not a plain name: use letters, digits, '_', '-' and '.', starting with a letter, "
                             "digit or '_' (it names the run folder runs/<name>; no '/', '.' or '..')")  # fmt: skip
        return v

    @model_validator(mode="after")
    def _consistent(self):
        fields = {"population_grid": "demand.grid_file", "roads": "network.path", "crime": "demand.offences.file",
                  "wishes": "wishes.file"}  # fmt: skip
        for name, value in self._field_inputs():
            if value is not None and name in self.inputs and Path(self.inputs[name]) != Path(value):
                field = fields[name]
                raise ValueError(f"inputs.{name} and {field} name different files; keep one")
        if self.model.type == "evaluate" and not self.sites:
            raise ValueError("model.type evaluate needs a list of sites")
        if self.model.type in ("none",) and self.new_offices:
            raise ValueError("model.type none (baseline) needs new_offices: 0")
        if self.existing.mode != "fixed":
            if self.model.type not in STRUCTURE_MODELS:
                raise ValueError(f"existing.mode {self.existing.mode} works with model.type {', '.join(STRUCTURE_MODELS)}, not {self.model.type}")
            if self.model.capacity is not None:
                raise ValueError(f"model.capacity does not work with existing.mode {self.existing.mode}; remove one of them")
            c, wishes = self.constraints, self.wishes
            bounds = [k for k in ("max_per_kommune", "max_per_district", "min_per_district") if getattr(c, k) is not None]
            if wishes.asked_with_premises == "bonus" or wishes.asked == "bonus":
                bounds.append("wishes bonus")
            if bounds:
                raise ValueError(f"existing.mode {self.existing.mode} takes no {bounds[0]} (constraints count new offices beside "
                                 "today's; a whole structure is chosen here); remove it")  # fmt: skip
        if self.model.type in ("mclp", "lscp", "backup", "hybrid") and self.network.cutoff_minutes < self.model.threshold_minutes:
            raise ValueError(f"network.cutoff_minutes ({self.network.cutoff_minutes:g}) is below model.threshold_minutes "
                             f"({self.model.threshold_minutes:g}): coverage within the threshold cannot be measured; raise the cutoff")  # fmt: skip
        return self

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def _field_info(loc: tuple):
    """The pydantic field at ``loc`` in :class:`Scenario` (None when the path leaves the schema)."""
    model, info = Scenario, None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        info = fields[part]
        ann = info.annotation
        args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else (args[0] if args else None)
    return info


def _range(loc: tuple) -> str:
    """A field's bounds as ``1 ≤ threshold_minutes ≤ 600`` (empty when it has none)."""
    info = _field_info(loc)
    if info is None:
        return ""
    lo = hi = ""
    for m in info.metadata:
        lo = f"{m.ge:g} ≤ " if getattr(m, "ge", None) is not None else f"{m.gt:g} < " if getattr(m, "gt", None) is not None else lo
        hi = f" ≤ {m.le:g}" if getattr(m, "le", None) is not None else f" < {m.lt:g}" if getattr(m, "lt", None) is not None else hi
    return f"{lo}{loc[-1]}{hi}" if lo or hi else ""


def error_message(err: dict) -> str:
    """One pydantic error of the scenario schema in plain words, with the allowed values or range."""
    msg = err["msg"].replace("Value error, ", "")
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field; see docs/scenarios.md for the allowed fields"
    if kind in ("int_type", "float_type") and isinstance(value, bool):
        r = _range(tuple(err["loc"]))
        return f"{str(value).lower()} is a yes/no value, not a number; give a number" + (f" (allowed: {r})" if r else "")
    if kind in ("int_type", "float_type", "bool_type") and isinstance(value, str):
        return f"{msg}, got the text {value[:40]!r} (write numbers and true/false without quotes)"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"):
        r = _range(tuple(err["loc"]))
        return f"{msg} (allowed: {r})" if r else msg
    if "expected" in ctx and str(ctx["expected"]) not in msg:
        return f"{msg} (allowed: {ctx['expected']})"
    return msg


def _site_numbers_as_written(data: dict, node) -> None:
    """Unquoted municipality numbers in the site lists become the text as written (``5401`` →
    ``"5401"``, ``0301`` → ``"0301"``, which YAML would read as the octal number 193)."""
    if node is None:
        return
    for path in SITE_LISTS:
        value, seq = data, node
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
            seq = next((v for k, v in seq.value if k.value == key), None) if isinstance(seq, yaml.MappingNode) else None
        if isinstance(value, list) and isinstance(seq, yaml.SequenceNode) and len(seq.value) == len(value):
            for i, item in enumerate(seq.value):
                if isinstance(value[i], int) and not isinstance(value[i], bool) and isinstance(item, yaml.ScalarNode):
                    value[i] = item.value


def scenario_errors(path: str | Path) -> tuple[Scenario | None, list[str]]:
    """Validate a scenario file; return the scenario (or None) and every error as ``file:line: msg``."""
    p = Path(path)
    if not p.exists():
        return None, [f"{p}: file not found"]
    if p.is_dir():
        return None, [f"{p}: is a folder, not a scenario file (give a .yaml file, e.g. scenarios/max-coverage-30.yaml)"]
    if not p.is_file():
        return None, [f"{p}: not a regular file; give a .yaml file"]
    try:
        with open(p, "rb") as fh:
            raw = fh.read(safe_yaml.MAX_BYTES + 1)
        if len(raw) > safe_yaml.MAX_BYTES:
            return None, [f"{p}: larger than the {safe_yaml.MAX_BYTES >> 20} MB a scenario file may have (a scenario is a few kB)"]
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        return None, [f"{p}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save the file as UTF-8"]
    except OSError as exc:
        return None, [f"{p}: cannot read ({exc.strerror or exc})"]
    try:
        data, node, lines = safe_yaml.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        return None, [f"{p}{where}: {problem}" if isinstance(exc, safe_yaml.YAMLLimitError) else f"{p}{where}: invalid YAML ({problem})"]
    if not isinstance(data, dict):
        return None, [f"{p}:1: a scenario must be a mapping of fields (name:, model:, ...)"]
    _site_numbers_as_written(data, node)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            key = loc
            while key not in lines and key:
                key = key[:-1]
            field = ".".join(str(x) for x in loc) or "(scenario)"
            errors.append(f"{p}:{lines.get(key, 1)}: {field}: {error_message(e)}")
        return None, errors
    # relative paths are relative to the scenario file
    base = p.resolve().parent
    for section, attr in (("demand", "grid_file"), ("candidates", "extra_points"), ("network", "path"), ("wishes", "file"),
                          ("demand.offences", "file")):  # fmt: skip
        obj = sc
        for part in section.split("."):
            obj = getattr(obj, part)
        val = getattr(obj, attr)
        if val is not None and not Path(val).is_absolute():
            setattr(obj, attr, (base / val).resolve())
    sc.inputs = {k: v if Path(v).is_absolute() else (base / v).resolve() for k, v in sc.inputs.items()}
    return sc, []


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario or raise :class:`SitingError` with its first error (all are in ``siting validate``)."""
    sc, errors = scenario_errors(path)
    if errors:
        more = f" (+{len(errors) - 1} more: run `siting validate {path}`)" if len(errors) > 1 else ""
        raise SitingError(errors[0] + more)
    return sc
