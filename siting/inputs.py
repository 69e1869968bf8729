"""Named inputs and the one order in which every input is resolved.

Every file the product reads is a named input in :data:`REGISTRY`. :func:`resolve` finds it in
this order, and the first hit wins:

1. **scenario** — a path given for it (a scenario field such as ``demand.grid_file`` or
   ``network.path``, passed to :func:`session`, or an explicit ``path=`` argument);
2. **cache** — the file written by ``siting data fetch ...`` into the user cache
   (``SITING_CACHE_DIR``, default ``~/.cache/siting``);
3. **bundle** — the compact derived copy shipped in the repository under ``data/``
   (each described in ``data/SOURCES.md`` and rebuilt by a script in ``scripts/``).

The answer is a small :class:`Input` record (name, path, origin, source). During a run,
:func:`session` collects every record that was resolved so the run can write them to
``manifest.json``; ``siting data info`` lists them for the current machine.

The package never reads the reference data beside a development checkout (``../shared``) at run
time; tests and benchmarks may.

Other modules add inputs with :func:`register` (at import of this module, so that every command
sees the same list), e.g.::

    register(InputSpec("crime", "SSB table 08487 ...", bundle="crime/crime.csv"))
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from siting.errors import DataError
from siting.paths import DATA_DIR, cache_dir

__all__ = ["ORIGINS", "REGISTRY", "Input", "InputSpec", "find", "register", "resolve", "session", "status"]

#: The resolution order (first hit wins).
ORIGINS = ("scenario", "cache", "bundle")


@dataclass(frozen=True)
class InputSpec:
    """A named input: what it is and where each origin keeps it.

    Parameters
    ----------
    name : str
        Key used by code, :func:`session` overrides and ``siting data info``.
    description : str
        Publisher, product and edition, licence (one line).
    bundle : str, optional
        Path of the bundled copy relative to ``data/``.
    cache : tuple of str
        Paths relative to the user cache where ``siting data fetch`` writes it (first existing wins).
    fetch : str, optional
        The command that fetches it (shown when the input is missing).
    scenario_field : str, optional
        The scenario field that names it (e.g. ``demand.grid_file``).
    """

    name: str
    description: str
    bundle: str | None = None
    cache: tuple[str, ...] = ()
    fetch: str | None = None
    scenario_field: str | None = None

    def bundle_path(self) -> Path | None:
        return DATA_DIR / self.bundle if self.bundle else None

    def cache_paths(self) -> list[Path]:
        return [cache_dir() / c for c in self.cache]


@dataclass(frozen=True)
class Input:
    """A resolved input: which file is used and why (``origin`` is scenario, cache or bundle)."""

    name: str
    path: Path
    origin: str
    source: str

    def as_dict(self) -> dict:
        return {**asdict(self), "path": str(self.path)}


REGISTRY: dict[str, InputSpec] = {}


def register(spec: InputSpec) -> InputSpec:
    """Add (or replace) a named input; returns the spec."""
    REGISTRY[spec.name] = spec
    return spec


@dataclass
class _Session:
    overrides: dict[str, Path] = field(default_factory=dict)
    used: dict[str, Input] = field(default_factory=dict)


_SESSION: contextvars.ContextVar[_Session | None] = contextvars.ContextVar("siting_inputs_session", default=None)


@contextmanager
def session(overrides: Mapping[str, str | Path | None] | None = None) -> Iterator[dict[str, Input]]:
    """Collect the inputs resolved inside the block; ``overrides`` are the scenario's paths.

    Yields a dict name → :class:`Input` that fills as loaders resolve their inputs; write
    ``[i.as_dict() for i in used.values()]`` to the manifest.
    """
    unknown = sorted(set(overrides or {}) - set(REGISTRY))
    if unknown:
        raise DataError(f"unknown input {unknown[0]!r} in inputs; known: {', '.join(sorted(REGISTRY))}", field="inputs")
    s = _Session(overrides={k: Path(v) for k, v in (overrides or {}).items() if v is not None})
    token = _SESSION.set(s)
    try:
        yield s.used
    finally:
        _SESSION.reset(token)


def _spec(name: str) -> InputSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown input {name!r}; registered: {', '.join(sorted(REGISTRY))}") from None


def find(name: str, path: str | Path | None = None) -> Input | None:
    """Resolve ``name`` (see module docstring) without recording it; None when no origin has it.

    A given path (argument or scenario) is returned even if it does not exist, so the loader
    reports the missing file with the field to fix.
    """
    spec = _spec(name)
    s = _SESSION.get()
    given = Path(path) if path is not None else (s.overrides.get(name) if s else None)
    if given is not None:
        return Input(name, given, "scenario", spec.description)
    for p in spec.cache_paths():
        if p.exists():
            return Input(name, p, "cache", spec.description)
    b = spec.bundle_path()
    if b is not None and b.exists():
        return Input(name, b, "bundle", spec.description)
    return None


def resolve(name: str, path: str | Path | None = None, required: bool = True) -> Input | None:
    """Resolve ``name`` and record it in the current :func:`session`.

    Raises :class:`DataError` naming the fix when nothing is found and ``required`` is true.
    """
    found = find(name, path)
    if found is None:
        if not required:
            return None
        spec = _spec(name)
        how = [f"set {spec.scenario_field} in the scenario"] if spec.scenario_field else []
        if spec.fetch:
            how.append(f"run `{spec.fetch}` (needs internet)")
        if spec.bundle:
            how.append(f"restore the bundled data/{spec.bundle} (`git checkout data/`)")
        raise DataError(f"input {name!r} ({spec.description}) not found; " + " or ".join(how))
    s = _SESSION.get()
    if s is not None:
        s.used[name] = found
    return found


def status() -> list[tuple[InputSpec, Input | None]]:
    """Every registered input with what :func:`find` picks on this machine (for ``siting data info``)."""
    return [(spec, find(spec.name)) for spec in REGISTRY.values()]


# --- the product's inputs ------------------------------------------------------------------------

register(InputSpec(
    "kommuner",
    "Kartverket municipality boundaries 2020 (356 kommuner), CC BY 4.0 © Kartverket",
    bundle="kommuner/kommuner.gpkg",
))
register(InputSpec(
    "population",
    "SSB table 07459, population per municipality 1 January 2022, NLOD 2.0 Statistisk sentralbyrå",
    bundle="population/ssb_07459_2022.csv",
    cache=("population/ssb_07459_2022.csv",),
    fetch="siting data fetch population",
))
register(InputSpec(
    "population_grid",
    "SSB population grid 250 m, 1 January 2022, NLOD 2.0 Statistisk sentralbyrå",
    bundle="population/ssb_grid_250m_2022.npz",
    cache=("population/NOR0250M_POP_2022.csv",),
    scenario_field="demand.grid_file",
))
register(InputSpec(
    "roads",
    "Kartverket N1000 road links (Veglenke, cars and car ferries), 2025, CC BY 4.0 © Kartverket",
    bundle="roads/n1000_veglenke.npz",
    cache=("roads/Veglenke.gpkg",),
    fetch="siting data fetch roads",
    scenario_field="network.path",
))
register(InputSpec(
    "ferries",
    "Car-ferry routes: published crossing times and daytime headways, one source per route (compiled; data/SOURCES.md)",
    bundle="roads/ferries.csv",
))
register(InputSpec(
    "places",
    "GeoNames cities500, Norwegian places with at least 500 inhabitants, CC BY 4.0 GeoNames",
    bundle="places/places.csv",
))
register(InputSpec(
    "candidates",
    "Candidate localities: Kartverket N1000 place names and built-up areas 2025 (CC BY 4.0 © Kartverket), "
    "SSB 250 m grid clusters 2022 (NLOD 2.0 Statistisk sentralbyrå)",
    bundle="candidates/candidates.csv",
))
register(InputSpec(
    "stations",
    "OpenStreetMap amenity=police in Norway (2026 extract, reconciled to 2022), ODbL © OpenStreetMap contributors",
    bundle="stations/stations.csv",
))
register(InputSpec(
    "crime",
    "SSB table 08487, reported offences by municipality (gjerningssted), two-year averages 2020-2023, NLOD 2.0 "
    "Statistisk sentralbyrå",
    bundle="crime/offences_08487.csv",
    scenario_field="demand.offences.file",
))
register(InputSpec(
    "centrality",
    "SSB sentralitetsindeks 2020 (classification 128), index 0-1000 and class 1-6 for the 356 kommuner, NLOD "
    "Statistisk sentralbyrå",
    bundle="kommuner/sentralitet_2020.csv",
))
register(InputSpec(
    "wishes",
    "Municipal positions on a new police office (letter of 23 Feb 2022): 16 sourced records with evidence strength",
    bundle="wishes/wishes.csv",
    scenario_field="wishes.file",
))
register(InputSpec(
    "drive_times",
    "Sourced reference drive times between places (route planners, Statens vegvesen, guides, ferry crossings), "
    "one URL per row",
    bundle="validation/drive_times.csv",
))
