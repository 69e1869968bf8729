"""A whole run: every stage in order, from a scenario file to its run folder."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np

from siting import cache
from siting.errors import InfeasibleError
from siting.io import atomic_path, check_output_dir
from siting.paths import MAPS_DIR, SCENARIO_DIR
from siting.pipeline.band_stage import band_stage
from siting.pipeline.inputs_stage import load_inputs
from siting.pipeline.keys import RUN_MARKER, Timer
from siting.pipeline.matrix import far_rows, rows_source, scenario_matrix
from siting.pipeline.metrics_stage import compute_metrics_stage
from siting.pipeline.model import build_problem, solve_model
from siting.pipeline.network_stage import load_network_stage
from siting.pipeline.outputs import write_outputs
from siting.resources import ResourceError
from siting.uncertainty import describe as describe_band

log = logging.getLogger(__name__)

def run_scenario(path: str | Path, out: str | Path | None = None, force: bool = False, copy_map: bool = True,
                 lang: str | None = None) -> Path:  # fmt: skip
    """Run a scenario file through every stage and write its run folder; returns the folder.

    For the shipped scenarios (files in ``scenarios/``) run into the default folder (no ``out``),
    the map is also copied to ``maps/<scenario>.html`` unless ``copy_map`` is false; a run with
    ``out`` elsewhere never touches ``maps/``. ``lang`` (``nb``/``en``) overrides the scenario's
    ``outputs.language`` for the map and the manifest.
    """
    from siting.i18n import lang_of
    from siting.scenario import load_scenario

    sc = load_scenario(path)
    if lang:
        sc.outputs.language = lang_of(lang)
    copy_map = copy_map and not out
    out = Path(out) if out else Path("runs") / sc.name
    check_output_dir(out, force=force, marker=RUN_MARKER, what="run folder")  # before any computation
    with cache.recording() as cache_events:  # damaged cache entries met (rebuilt), for the manifest
        timer = Timer()
        t_start = time.perf_counter()
        inputs = load_inputs(sc, timer)
        network = load_network_stage(sc, timer)
        tm = scenario_matrix(sc, network, inputs, timer)
        with timer.stage("model"):
            problem = build_problem(sc, inputs)
            try:
                sol = solve_model(sc, problem, tm, rows_source(network, inputs))
            except InfeasibleError as exc:
                raise InfeasibleError(f"{Path(path).name}: {exc}") from None
        if sol.stats.get("cutoff_may_change_optimum"):
            log.warning("the %g-min drive-time cutoff may have changed the optimum (%d demand points, population %.0f, have no "
                        "open office within it); raise network.cutoff_minutes", sol.stats["cutoff_minutes"],
                        sol.stats["beyond_cutoff_points"], sol.stats["beyond_cutoff_population"])  # fmt: skip
        with timer.stage("band"):  # today's and the plan's times under the low and the high drive-time assumption
            band = band_stage(sc, inputs, network, sol.open_sites)
        with timer.stage("metrics"):
            result = compute_metrics_stage(sc, inputs, network, tm, sol, band)
        analysis = far = structure = None
        if sc.existing.mode != "fixed":
            from siting.pipeline.structure import structure_efficiency
            from siting.structure import analyse_structure

            with timer.stage("structure"):
                eff = structure_efficiency(sc, inputs, network, tm, problem, sol, rows_source(network, inputs))
                structure = analyse_structure(sc, inputs, network, tm, problem, sol, eff)
        elif len(sol.selected):
            from siting.explain import analyse

            with timer.stage("explain"):
                far = far_rows(network, inputs, tm, timer)
                analysis = analyse(sc, inputs, tm, far, problem, sol, with_efficiency=sc.model.type == "evaluate", band=band)
        wi = None
        if sc.outputs.map and inputs.fixed.any() and sc.existing.mode == "fixed":  # the what-if adds sites to today's offices
            with timer.stage("what-if data"):
                try:
                    far = far if far is not None else far_rows(network, inputs, tm, timer)
                    wi = whatif_data(sc, inputs, tm, far, problem, sol, analysis)
                except ResourceError as exc:  # the map is drawn without its what-if block
                    log.warning("the map has no what-if: %s", exc)
        keys = {"inputs": inputs.key, "network": network.key, "network_content": network.content_key, "matrix": tm.key}
        notes = {**problem.notes, "band": describe_band(how={b.name: b.describe() for b in band})}
        write_outputs(out, sc, Path(path), inputs, network, tm, sol, result, timer, keys, force=force, t_start=t_start,
                      notes=notes, analysis=analysis, cache_events=cache_events, whatif=wi, structure=structure)  # fmt: skip
    if copy_map and sc.outputs.map and sc.outputs.maps_copy and Path(path).resolve().parent == SCENARIO_DIR.resolve():
        with atomic_path(MAPS_DIR / f"{sc.name}.html") as tmpmap:
            shutil.copyfile(out / "map.html", tmpmap)
    return out


#: scenario sections that change what an ``evaluate`` run of the same sites computes (the what-if export keeps them)
EXPORT_SECTIONS = ("demand", "candidates", "network", "inputs")


def whatif_data(sc, inputs, tm, far, problem, sol, analysis):
    """The map's what-if arrays (:mod:`siting.maps.whatif`): the run's plan, and the coverage optimum
    for the same number of sites when the run knows it (an evaluate run's efficiency optimum, or
    the run's own plan when it is a proven optimal coverage plan)."""
    from siting.maps import whatif

    cons = problem.constraints
    forbidden = None if cons.forbidden is None else np.asarray(cons.forbidden, bool)
    optimum, label = None, ""
    eff = analysis.efficiency if analysis is not None else None
    if eff and eff.get("optimum_coverage_site_ids"):
        ids = inputs.sites.site_id.astype(str).tolist()
        optimum = [ids.index(s) for s in eff["optimum_coverage_site_ids"]]
        label = "coverage"
    elif sc.model.type == "mclp" and sol.status == "optimal":
        optimum, label = list(sol.selected), "plan"
    settings = sc.model_dump(mode="json", exclude_defaults=True)
    scenario = {"name": sc.name, **{k: settings[k] for k in EXPORT_SECTIONS if k in settings}}
    return whatif.build(inputs, tm, far, float(sc.model.threshold_minutes), sol.selected, forbidden, optimum, label, scenario)
