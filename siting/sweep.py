"""``siting sweep``: one scenario under many assumptions — robust core, marginal curve, Pareto frontiers.

A sweep varies scenario fields (``--vary model.threshold_minutes=20,30,45 --vary new_offices=0..40:5``,
Cartesian product, or a list file with one run per row). Runs are grouped by what they share: runs
with the same inputs, network and cutoff share one drive-time matrix, built once on this machine
and shipped to the workers (local processes, or a Dask cluster via ``client.scatter``); only the
model stage runs per run. Threshold, weights, constraints and p re-enter at the model; speed
factor and ferry settings at the network; the cutoff at the matrix.

Outputs (one folder, written atomically):

``runs.csv``
    One row per run: run id, the varied parameters, model, status, objective, bound, gap, number
    of new offices, and headline metrics (people and share within T, mean/p90/max minutes, offences
    within T when the inputs carry offences).
``sites.csv``
    One row per (run, new site): rank, site, municipality, district, people newly within T, people
    served, marginal loss if the site alone were removed.
``frequency.csv``, ``frequency_kommuner.csv``
    Selection frequency of every selected candidate / municipality across runs with p > 0, overall
    and per p; ``robust_core`` marks those chosen in every run with the same p.
``marginal.csv``
    Coverage, mean time (and offences) against p for every combination of the other parameters,
    with the change per added office. Each p is solved independently (independent optima);
    ``nested`` says whether the optimum at p contains the optimum at the previous p.
``pareto.csv``
    When weights are varied (keys containing ``weight``): the runs not dominated in (people within
    T ↑, mean time ↓, offences within T ↑) among runs sharing every other parameter.
``timings.json``, ``sweep.json``
    Per matrix group: network and matrix seconds and whether they were built or read from a cache
    (the matrix is built at most once per group); the sweep definition and executor.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from siting import cache, pipeline, plans, safe_yaml
from siting.errors import SitingError
from siting.io import atomic_dir, check_output_dir, json_text
from siting.scenario import Scenario, error_message

log = logging.getLogger(__name__)

#: Most runs in one sweep.
MAX_RUNS = 100_000
CURVE_NOTE = "independent optima: every p is solved on its own (sites may change between p); column nested says when they happen to nest"


# ------------------------------------------------------------------------------------------- definition
def parse_values(text: str) -> list:
    """``20,30,45`` → [20, 30, 45]; ``0..40:5`` → [0, 5, …, 40] (inclusive); values are YAML scalars."""
    text = text.strip()
    if ".." in text and "," not in text:
        rng, _, step = text.partition(":")
        lo, _, hi = rng.partition("..")
        try:
            a, b = safe_yaml.safe_load(lo), safe_yaml.safe_load(hi)
            s = safe_yaml.safe_load(step) if step else 1
            if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (a, b, s)) or s <= 0:
                raise ValueError
        except (ValueError, yaml.YAMLError):
            raise SitingError(f"bad range '{text}': write START..STOP or START..STOP:STEP with numbers, e.g. 0..40:5") from None
        n = int(math.floor((b - a) / s + 1e-9)) + 1
        if n > MAX_RUNS:
            raise SitingError(f"range '{text}' has {n:,} values: too many for one sweep (at most {MAX_RUNS:,} runs); use a larger step")
        vals = [a + i * s for i in range(max(n, 0))]
        return [int(v) if all(isinstance(x, int) for x in (a, b, s)) else round(float(v), 10) for v in vals]
    try:
        return [safe_yaml.safe_load(v) for v in text.split(",") if v.strip() != ""]
    except yaml.YAMLError as exc:
        raise SitingError(f"bad value in '{text}' ({getattr(exc, 'problem', None) or exc}): write V1,V2,... e.g. 20,30,45") from None


def parse_vary(arg: str) -> tuple[str, list]:
    key, sep, values = arg.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise SitingError(f"--vary '{arg}': write KEY=V1,V2,... or KEY=START..STOP[:STEP], e.g. new_offices=0..40:5")
    vals = parse_values(values)
    if not vals:
        raise SitingError(f"--vary '{arg}': no values")
    return key.strip(), vals


def read_list(path: str | Path) -> list[dict]:
    """Runs from a file: CSV (header = scenario keys, one run per row) or YAML (a list of mappings)."""
    path = Path(path)
    if not path.exists():
        raise SitingError("run list not found", path=path)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = safe_yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise SitingError(f"{path}{f':{mark.line + 1}' if mark else ''}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise SitingError("a YAML run list must be a list of mappings (key: value per run)", path=path)
        return [{str(k): v for k, v in r.items()} for r in data]
    from siting.data.validate import csv_dialect, read_table

    decimal_comma = csv_dialect(path)["decimal"] == ","  # Excel's dialect: 0,8 is 0.8
    table = read_table(path, "run list", "give a CSV with a header of scenario keys, one run per row", dtype=str,
                       keep_default_na=False)  # fmt: skip
    if table.empty:
        raise SitingError("the run list has no rows (CSV with a header of scenario keys)", path=path)

    def value(text: str):
        if decimal_comma and re.fullmatch(r"-?\d+,\d+", text.strip()):
            text = text.replace(",", ".")
        return safe_yaml.safe_load(text)

    try:
        return [{str(k).strip(): value(v) for k, v in r.items() if str(k).strip() and v != ""} for r in table.to_dict("records")]
    except yaml.YAMLError as exc:
        raise SitingError(f"a value is not valid YAML ({getattr(exc, 'problem', None) or exc})", path=path) from None


def _set(d: dict, key: str, value) -> None:
    parts = key.split(".")
    cur = d
    for p in parts[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = value


@dataclass
class RunSpec:
    run_id: str
    params: dict
    scenario: Scenario


def expand(base: Scenario, axes: list[tuple[str, list]] | None = None, rows: list[dict] | None = None) -> list[RunSpec]:
    """The runs of a sweep: the Cartesian product of ``axes``, or one run per row of ``rows``."""
    from pydantic import ValidationError

    n = (math.prod(len(v) for _, v in axes) if axes else 0) + len(rows or [])
    if n > MAX_RUNS:
        raise SitingError(f"{n:,} runs: too many for one sweep (at most {MAX_RUNS:,}); narrow the --vary ranges")
    combos = [dict(zip([k for k, _ in axes], vals, strict=True)) for vals in itertools.product(*[v for _, v in axes])] if axes else []
    combos += rows or []
    if not combos:
        raise SitingError("nothing to sweep: give --vary KEY=VALUES or --list FILE")
    base_dict = base.model_dump(mode="json")
    runs = []
    for i, params in enumerate(combos, start=1):
        d = json.loads(json.dumps(base_dict))
        for k, v in params.items():
            _set(d, k, v)
        try:
            sc = Scenario.model_validate(d)
        except ValidationError as exc:
            e = exc.errors()[0]
            loc = ".".join(str(x) for x in e["loc"]) or "(scenario)"
            raise SitingError(f"sweep run {i} {params}: {loc}: {error_message(e)}") from None
        runs.append(RunSpec(f"run-{i:04d}", params, sc))
    return runs


# ------------------------------------------------------------------------------------------- one run (worker side)
@dataclass
class Task:
    """What a worker needs for one run besides the shared matrix bundle (small)."""

    run_id: str
    params: dict
    scenario: Scenario
    problem: pipeline.Problem


@dataclass
class Shared:
    """Shipped once per matrix group to every worker."""

    tm: pipeline.TimeMatrix
    data: plans.PlanData
    site_ids: np.ndarray
    site_names: np.ndarray
    site_kommune: np.ndarray
    site_kommunenummer: np.ndarray
    site_district: np.ndarray
    site_xy: np.ndarray


def run_task(task: Task, shared: Shared) -> dict:
    """Solve one run on the shared matrix and score it exactly (runs on a worker; no I/O)."""
    from siting.errors import SitingError as _Err

    sc = task.scenario
    T = float(sc.model.threshold_minutes)
    row = {"run_id": task.run_id, **{k: _scalar(v) for k, v in task.params.items()}}
    t0 = time.perf_counter()
    try:
        sol = pipeline.solve_model(sc, task.problem, shared.tm)
    except _Err as exc:  # infeasible or invalid for this combination: a row that says so
        row.update(model=sc.model.type, status="infeasible", message=str(exc), opened=0)
        return {"row": row, "sites": [], "seconds": time.perf_counter() - t0}
    data = shared.data
    selected = [int(j) for j in sol.selected]
    after, nearest = plans.times(data, selected)
    s = plans.score_times(data, after, T)
    s0 = plans.score_times(data, data.before, T)
    row.update({
        "model": sol.model, "status": sol.status, "objective": sol.objective, "bound": sol.bound, "gap": sol.gap,
        "threshold_minutes": T, "opened": len(selected),
        "pop_within_T_before": s0["pop_within_T"], "pop_within_T": s["pop_within_T"],
        "share_within_T_before": s0["share_within_T"], "share_within_T": s["share_within_T"],
        "pop_newly_within_T": s["pop_within_T"] - s0["pop_within_T"],
        "mean_time_before": s0["mean_time"], "mean_time": s["mean_time"], "p90_time": s["p90_time"], "max_time": s["max_time"],
    })  # fmt: skip
    if "offences_within_T" in s:
        row.update(offences_within_T_before=s0["offences_within_T"], offences_within_T=s["offences_within_T"])
    losses = {m["site"]: m for m in plans.marginal_values(data, selected, T)}
    w = data.weights
    sites = []
    for rank, j in enumerate(selected, start=1):
        served = nearest == j
        sites.append({
            "run_id": task.run_id, "rank": rank, "site_id": str(shared.site_ids[j]), "name": str(shared.site_names[j]),
            "kommune": str(shared.site_kommune[j]), "kommunenummer": str(shared.site_kommunenummer[j]),
            "politidistrikt": str(shared.site_district[j]), "pop_served": float(w[served].sum()),
            "pop_newly_within_T": float(w[served & (data.before > T) & (after <= T)].sum()),
            "coverage_loss_if_removed": losses[j]["coverage_loss"], "time_loss_if_removed_pop_min": losses[j]["time_loss_pop_min"],
            "x": round(float(shared.site_xy[j, 0]), 1), "y": round(float(shared.site_xy[j, 1]), 1),
        })  # fmt: skip
    return {"row": row, "sites": sites, "seconds": time.perf_counter() - t0}


def run_structure_task(task: Task, shared: Shared, network, inputs) -> dict:
    """A structure run (``existing.mode`` greenfield/relocate): solved here, where the road network
    is (its models extend rows), and scored on exact times to the chosen structure. ``opened`` is
    the structure's size; the per-site rows list the whole structure."""
    from siting.errors import SitingError as _Err

    sc = task.scenario
    T = float(sc.model.threshold_minutes)
    row = {"run_id": task.run_id, **{k: _scalar(v) for k, v in task.params.items()}}
    t0 = time.perf_counter()
    try:
        sol = pipeline.solve_model(sc, task.problem, shared.tm, pipeline.rows_source(network, inputs))
    except _Err as exc:
        row.update(model=sc.model.type, status="infeasible", message=str(exc), opened=0)
        return {"row": row, "sites": [], "seconds": time.perf_counter() - t0}
    data = shared.data
    after, nearest = pipeline.after_times(network, inputs, sol.open_sites)
    s, s0 = plans.score_times(data, after, T), plans.score_times(data, data.before, T)
    existing = np.asarray(task.problem.existing, bool)
    structure = [int(j) for j in sol.open_sites]
    row.update({
        "model": sol.model, "status": sol.status, "objective": sol.objective, "bound": sol.bound, "gap": sol.gap,
        "threshold_minutes": T, "opened": len(structure), "kept": int(existing[structure].sum()),
        "moved": int(existing.sum() - existing[structure].sum()), "added": int((~existing[structure]).sum()),
        "pop_within_T_before": s0["pop_within_T"], "pop_within_T": s["pop_within_T"],
        "share_within_T_before": s0["share_within_T"], "share_within_T": s["share_within_T"],
        "pop_newly_within_T": s["pop_within_T"] - s0["pop_within_T"],
        "mean_time_before": s0["mean_time"], "mean_time": s["mean_time"], "p90_time": s["p90_time"], "max_time": s["max_time"],
        "solve_seconds": round(sol.runtime, 3),
    })  # fmt: skip
    if "offences_within_T" in s:
        row.update(offences_within_T_before=s0["offences_within_T"], offences_within_T=s["offences_within_T"])
    w = data.weights
    served_pop = np.bincount(np.maximum(nearest, 0), weights=np.where(nearest >= 0, w, 0.0), minlength=len(existing))
    sites = [{"run_id": task.run_id, "rank": rank, "site_id": str(shared.site_ids[j]), "name": str(shared.site_names[j]),
              "kommune": str(shared.site_kommune[j]), "kommunenummer": str(shared.site_kommunenummer[j]),
              "politidistrikt": str(shared.site_district[j]), "existing_office": bool(existing[j]), "pop_served": float(served_pop[j]),
              "x": round(float(shared.site_xy[j, 0]), 1), "y": round(float(shared.site_xy[j, 1]), 1)}
             for rank, j in enumerate(sorted(structure, key=lambda j: (-served_pop[j], j)), start=1)]  # fmt: skip
    return {"row": row, "sites": sites, "seconds": time.perf_counter() - t0}


def _scalar(v):
    return json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v


# ------------------------------------------------------------------------------------------- executors
_WORKER_SHARED: dict[str, Shared] = {}


def _worker_init() -> None:
    """Local workers leave Ctrl-C to the main process, which stops them all at once (no traceback per worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_in_worker(args: tuple[Task, str, str]) -> dict:
    """Local worker: the group's matrix bundle is read from its file once per worker process."""
    import pickle

    task, key, path = args
    if key not in _WORKER_SHARED:
        with open(path, "rb") as fh:
            _WORKER_SHARED[key] = pickle.load(fh)
    return run_task(task, _WORKER_SHARED[key])


def _local(work: list[tuple[Task, str]], shared: dict[str, Shared], jobs: int, advance) -> list[dict]:
    if jobs <= 1 or len(work) <= 1:
        out = []
        for t, key in work:
            out.append(run_task(t, shared[key]))
            advance()
        return out
    import multiprocessing as mp
    import pickle
    import tempfile

    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    with tempfile.TemporaryDirectory(prefix="siting-sweep-") as tmp:
        files = {}
        for key, bundle in shared.items():  # one file per matrix: each worker reads it once
            files[key] = str(Path(tmp) / f"{key}.pkl")
            with open(files[key], "wb") as fh:
                pickle.dump(bundle, fh, protocol=pickle.HIGHEST_PROTOCOL)
        # leaving the block (done, Ctrl-C, SIGTERM, a failed run) terminates the workers at once,
        # also those inside a solver call, instead of waiting for their runs to finish
        with ctx.Pool(min(jobs, len(work)), initializer=_worker_init) as pool:
            res = []
            for r in pool.imap_unordered(_run_in_worker, [(t, key, files[key]) for t, key in work]):
                res.append(r)
                advance()
    return res


def _dask(work: list[tuple[Task, str]], shared: dict[str, Shared], client, advance) -> list[dict]:
    from distributed import as_completed

    big = {key: client.scatter(bundle, broadcast=True) for key, bundle in shared.items()}  # once per worker
    futs = [client.submit(run_task, t, big[key], key=f"siting-{key}-{t.run_id}", pure=False) for t, key in work]
    res = []
    try:
        for f in as_completed(futs):
            res.append(f.result())
            advance()
    finally:  # also on Ctrl-C: the cluster stops working on this sweep
        client.cancel([*futs, *big.values()])
    return res


# ------------------------------------------------------------------------------------------- the sweep
def run_sweep(base_path: str | Path, runs: list[RunSpec], out: str | Path, jobs: int | None = None, dask: str | None = None,
              force: bool = False, progress: bool = True, client=None) -> Path:  # fmt: skip
    """Run every run of a sweep and write the sweep folder (see module docstring); returns it.

    Parameters
    ----------
    jobs : int, optional
        Local worker processes (default: the machine's cores); 1 runs in this process.
    dask : str, optional
        Address of an existing ``dask.distributed`` scheduler (``tcp://host:8786``).
    client : distributed.Client, optional
        An existing client (tests: a ``LocalCluster``); overrides ``dask``.
    """
    out = Path(out)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise SitingError(f"--jobs {jobs}: give a number of worker processes of at least 1 (1 runs in this process; "
                          "leave it out for one per core)")  # fmt: skip
    check_output_dir(out, force=force, marker="sweep.json", what="sweep folder")  # before any computation
    jobs = jobs or os.cpu_count() or 1
    own_client = None
    if client is None and dask:
        try:
            from distributed import Client
        except ImportError:
            raise SitingError("--dask needs dask.distributed: pip install 'dask[distributed]'") from None
        try:
            client = own_client = Client(dask, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise SitingError(f"--dask {dask}: cannot reach the scheduler ({exc})") from None
        except (ValueError, TypeError) as exc:
            raise SitingError(f"--dask {dask!r}: not a scheduler address ({str(exc).splitlines()[0]}); give one like "
                              "tcp://host:8786") from None  # fmt: skip
    executor = f"dask {client.scheduler.address}" if client is not None else ("this process" if jobs <= 1 else f"{jobs} local processes")
    t_start = time.perf_counter()
    # 1. group the runs by the matrix they need; build each matrix once, here
    with cache.recording() as cache_events:  # damaged cache entries met (rebuilt), for sweep.json
        groups: dict[str, list[RunSpec]] = {}
        prepared: dict[str, tuple] = {}
        for r in runs:
            timer = pipeline.Timer()
            inputs = pipeline.load_inputs(r.scenario, timer)
            network = pipeline.load_network_stage(r.scenario, timer)
            key = pipeline.scenario_matrix_key(r.scenario, network, inputs)
            groups.setdefault(key, []).append(r)
            if key not in prepared:
                prepared[key] = (inputs, network, timer)
        shared: dict[str, Shared] = {}
        work: list[tuple[Task, str]] = []
        timings: dict[str, dict] = {}
        for key, members in groups.items():
            inputs, network, timer = prepared[key]
            t0 = time.perf_counter()
            tm = pipeline.scenario_matrix(members[0].scenario, network, inputs, timer)
            far = pipeline.far_rows(network, inputs, tm, timer)
            sites = inputs.sites
            shared[key] = Shared(tm, plans.PlanData.from_stages(inputs, tm, far), sites.site_id.to_numpy(str), sites["name"].to_numpy(str),
                                 sites.kommune.fillna("").to_numpy(str), sites.kommunenummer.to_numpy(str), sites.politidistrikt.to_numpy(str),
                                 np.column_stack([sites.geometry.x, sites.geometry.y]))  # fmt: skip
            for r in members:
                try:
                    problem = pipeline.build_problem(r.scenario, inputs)
                except SitingError as exc:
                    raise SitingError(f"sweep {r.run_id} {r.params}: {exc}") from None
                work.append((Task(r.run_id, r.params, r.scenario, problem), key))
            timings[key] = {
                "matrix_key": key, "network": network.graph.source, "network_key": network.key, "runs": len(members),
                "params": {k: v for k, v in members[0].params.items() if not _model_level(k)},
                "network_seconds": timer.stages.get("network", 0.0), "matrix_source": tm.cache,
                "matrix_builds": 1 if tm.cache == "built" else 0, "matrix_build_seconds": tm.seconds,
                "matrix_stage_seconds": round(time.perf_counter() - t0, 3), "far_rows": int(len(far.rows)),
            }  # fmt: skip
    # 2. solve every run on the workers
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    t1 = time.perf_counter()
    with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), disable=not progress,
                  transient=True) as bar:  # fmt: skip
        task_bar = bar.add_task("runs", total=len(runs))

        def advance():
            bar.advance(task_bar)

        # structure runs are solved here, beside the road network their models extend rows on
        here = [(t, key) for t, key in work if t.scenario.existing.mode != "fixed"]
        away = [(t, key) for t, key in work if t.scenario.existing.mode == "fixed"]
        results = []
        for t, key in here:
            results.append(run_structure_task(t, shared[key], prepared[key][1], prepared[key][0]))
            advance()
        try:
            if away:
                results += _dask(away, shared, client, advance) if client is not None else _local(away, shared, jobs, advance)
        finally:
            if own_client is not None:
                own_client.close()
    solve_wall = round(time.perf_counter() - t1, 3)
    group_of = {t.run_id: key for t, key in work}
    for x in results:
        g = timings[group_of[x["row"]["run_id"]]]
        g["solve_seconds_sum"] = round(g.get("solve_seconds_sum", 0.0) + x["seconds"], 3)
    timer_all = list(timings.values())
    order = {r.run_id: i for i, r in enumerate(runs)}
    results.sort(key=lambda x: order[x["row"]["run_id"]])
    keys = list(dict.fromkeys(k for r in runs for k in r.params))
    table = pd.DataFrame([x["row"] for x in results])
    site_rows = pd.DataFrame([s for x in results for s in x["sites"]])
    tables = summarise(table, site_rows, keys)
    meta = {
        "scenario_file": str(base_path), "scenario": runs[0].scenario.name, "title": runs[0].scenario.title,
        "language": runs[0].scenario.outputs.language, "runs": len(runs), "varied": keys,
        "executor": executor, "marginal_curve": CURVE_NOTE, "matrix_groups": len(groups),
        "matrix_builds": sum(g["matrix_builds"] for g in timer_all),
        "offences": "included" if "offences_within_T" in table else "not available: no crime data (see docs/analysis.md)",
        "solve_seconds_wall": solve_wall, "seconds": round(time.perf_counter() - t_start, 3), "cache_events": cache_events,
    }  # fmt: skip
    with atomic_dir(out, force=force, marker="sweep.json") as tmp:
        table.to_csv(tmp / "runs.csv", index=False)
        site_rows.to_csv(tmp / "sites.csv", index=False)
        for name, df in tables.items():
            df.to_csv(tmp / f"{name}.csv", index=False)
        (tmp / "timings.json").write_text(json_text({"groups": timer_all, "runs": {x["row"]["run_id"]: round(x["seconds"], 3) for x in results}},
                                                     indent=2), encoding="utf-8")  # fmt: skip
        (tmp / "sweep.json").write_text(json_text(meta), encoding="utf-8")
    return out


def _model_level(key: str) -> bool:
    """Parameters that re-enter at the model stage (they never change the matrix)."""
    return key == "new_offices" or key.split(".")[0] in ("model", "constraints", "solver", "sites", "outputs")


def _is_weight(key: str) -> bool:
    return "weight" in key


def summarise(table: pd.DataFrame, sites: pd.DataFrame, keys: list[str]) -> dict[str, pd.DataFrame]:
    """Frequency (robust core), marginal curve and Pareto tables from the runs and site tables."""
    out = {}
    ok = table[table.status.isin(["optimal", "feasible", "time_limit", "heuristic", "evaluated"]) & (table.opened > 0)]
    p_col = "existing.offices" if "existing.offices" in keys else "new_offices"  # a structure's size, or new offices
    if len(sites) and len(ok):
        ok = ok.assign(**{p_col: ok["opened"]})  # frequency per number of offices actually opened
        s = sites[sites.run_id.isin(ok.run_id)].merge(ok[["run_id", p_col]], on="run_id")
        runs_per_p = ok.groupby(p_col).size()
        for what, cols, name in ((["site_id"], ["site_id", "name", "kommune", "kommunenummer", "politidistrikt", "x", "y"], "frequency"),
                                 (["kommunenummer"], ["kommunenummer", "kommune", "politidistrikt"], "frequency_kommuner")):  # fmt: skip
            per_run = s.drop_duplicates(["run_id", *what])
            info = per_run.drop_duplicates(what)[cols]
            total = per_run.groupby(what).size().rename("runs_selected")
            freq = info.set_index(what).join(total).reset_index()
            freq["share_of_runs"] = freq["runs_selected"] / len(ok)
            by_p = per_run.groupby([*what, p_col]).size().unstack(p_col, fill_value=0)
            core: dict = {}
            for p in by_p.columns:
                freq = freq.merge((by_p[p] / runs_per_p[p]).rename(f"share_p{p}").reset_index(), on=what, how="left")
                for k in by_p.index[by_p[p] == runs_per_p[p]]:
                    core.setdefault(k, []).append(str(p))
            freq = freq.fillna({c: 0.0 for c in freq.columns if c.startswith("share_p")})
            # robust core: the p values at which the site (municipality) is chosen in every run with that p
            freq["robust_core_at_p"] = [",".join(core.get(k, [])) for k in freq[what[0]]]
            out[name] = freq.sort_values(["runs_selected", *what], ascending=[False] + [True] * len(what)).reset_index(drop=True)
    others = [k for k in keys if k != p_col]
    if p_col in keys:
        rows = []
        metric_cols = [c for c in ("pop_within_T", "share_within_T", "mean_time", "offences_within_T") if c in table]
        sel = sites.groupby("run_id")["site_id"].apply(frozenset) if len(sites) else pd.Series(dtype=object)
        for _, df in table.groupby(others, dropna=False, sort=False) if others else [((), table)]:
            df = df.sort_values(p_col)
            prev = None
            for rr in df.to_dict("records"):
                row = {k: rr[k] for k in others} | {"p": rr[p_col], "status": rr["status"], **{c: rr.get(c) for c in metric_cols}}
                cur = sel.get(rr["run_id"], frozenset())
                if prev is not None:
                    dp = rr[p_col] - prev[p_col]
                    for c in metric_cols:
                        row[f"{c}_change_per_office"] = (rr[c] - prev[c]) / dp if dp else float("nan")
                    row["nested"] = bool(prev["sites"] <= cur)
                rows.append(row)
                prev = {**rr, "sites": cur}
        out["marginal"] = pd.DataFrame(rows)
    weights = [k for k in keys if _is_weight(k)]
    if weights:
        rest = [k for k in keys if not _is_weight(k)]
        res = []
        good = table[table.status.isin(["optimal", "feasible", "time_limit", "heuristic"])]
        for _, df in good.groupby(rest, dropna=False, sort=False) if rest else [((), good)]:
            cov = df["pop_within_T"].to_numpy()
            mt = df["mean_time"].to_numpy()
            off = df["offences_within_T"].to_numpy() if "offences_within_T" in df else np.zeros(len(df))
            for i in range(len(df)):
                better_eq = (cov >= cov[i]) & (mt <= mt[i]) & (off >= off[i])
                strictly = (cov > cov[i]) | (mt < mt[i]) | (off > off[i])
                res.append({**df.iloc[i].to_dict(), "pareto": not bool(np.any(better_eq & strictly))})
        out["pareto"] = pd.DataFrame(res)
    return out

