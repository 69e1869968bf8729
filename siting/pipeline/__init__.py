"""The staged run: inputs → network → drive-time matrix → model → metrics → outputs.

Every stage is a plain function with typed (dataclass) inputs and outputs and a content-hash
cache key, so that many runs (a sweep) share one network and one drive-time matrix::

    inputs  = load_inputs(sc)                         # kommuner, stations, demand, candidates, sites
    network = load_network_stage(sc)                  # RoadGraph, once per (file, speeds, ferries)
    matrix  = scenario_matrix(sc, network, inputs)    # drive_time_matrix with the scenario's cutoff/floor/mode
    problem = build_problem(sc, inputs)               # weights, fixed, constraints: plain arrays
    sol     = solve_model(sc, problem, matrix, rows_source(network, inputs))  # no I/O
    band    = band_stage(sc, inputs, network, sol.open_sites)   # the times under the low/high drive-time assumption
    result  = compute_metrics_stage(sc, inputs, network, matrix, sol, band)
    write_outputs(out, ...)                           # the only stage that writes

``inputs``, ``network`` and ``matrix`` are memoised in-process by their key; the matrix is also
cached on disk (``<cache>/matrices/<key>.npz``), keyed by the graph's content, the exact demand
and site coordinates, the access settings and the cutoff. Models never read files or print.

The stages live in one module each (``keys`` → ``inputs_stage`` → ``network_stage`` → ``matrix`` →
``model`` → ``band_stage`` → ``metrics_stage`` → ``outputs``; ``run`` chains them); this package re-exports them.
"""

from siting.pipeline.band_stage import BandTimes, band_stage
from siting.pipeline.inputs_stage import Inputs, inputs_key, load_inputs
from siting.pipeline.keys import RUN_MARKER, Timer, clear_memo, digest
from siting.pipeline.matrix import (
    MATRIX_CACHE_VERSION,
    FarRows,
    TimeMatrix,
    drive_time_matrix,
    far_rows,
    matrix_floor,
    matrix_key,
    rows_source,
    scenario_matrix,
    scenario_matrix_key,
)
from siting.pipeline.metrics_stage import (
    PROPOSAL_COLUMNS,
    RunMetrics,
    after_times,
    compute_metrics_stage,
    headline,
    site_table,
)
from siting.pipeline.model import Problem, build_problem, plan_sites, site_hits, solve_model
from siting.pipeline.network_stage import Network, load_network_stage, network_key, network_spec
from siting.pipeline.outputs import write_outputs
from siting.pipeline.run import run_scenario

__all__ = [
    "MATRIX_CACHE_VERSION", "PROPOSAL_COLUMNS", "RUN_MARKER", "BandTimes", "FarRows", "Inputs", "Network", "Problem", "RunMetrics",
    "TimeMatrix", "Timer", "after_times", "band_stage", "build_problem", "clear_memo", "compute_metrics_stage", "digest",
    "drive_time_matrix", "far_rows", "headline", "inputs_key", "load_inputs", "load_network_stage", "matrix_floor",
    "matrix_key", "network_key", "network_spec", "plan_sites", "rows_source", "run_scenario", "scenario_matrix",
    "scenario_matrix_key", "site_hits", "site_table", "solve_model", "write_outputs",
]  # fmt: skip
