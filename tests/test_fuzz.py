"""Fuzzing the shipped scenarios (issue 22 §7): a hostile but plausible edit — a field set to a
boolean, text, a negative, huge, infinite or NaN number, a list or a mapping; a field dropped or
misspelt; the YAML cut short, given bytes that are not UTF-8, an alias bomb, deep nesting or a
duplicated key — and ``siting run`` either writes a valid run folder (exit 0) or prints one
``siting: error:`` line (exit 2): never a traceback, never more than 60 s or 2 GB.

Hypothesis draws the edits deterministically (``derandomize``; ``SITING_FUZZ_EXAMPLES=200`` for a
longer search), on fast copies of the shipped
scenarios (5 km demand cells, GeoNames candidates, no map); each example runs in its own process
with the memory budget ``SITING_MAX_MEMORY=1G`` and an address-space cap, so a failure cannot take
the machine down.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from siting.paths import SCENARIO_DIR  # noqa: E402
from siting.scenario import Scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
LIMIT_S, LIMIT_RSS = 60, 2 << 30
#: Values a hostile or careless edit puts in a field.
HOSTILE = [True, False, None, "", "20", "æøå", "../../etc/passwd", -1, 0, 1, 2.5, -1e-9, 1e9, 10**20, float("nan"),
           float("inf"), -float("inf"), [], {}, [1, 2], {"x": 1}, "x" * 5000, "0301"]  # fmt: skip
#: Edits of the YAML text itself.
TEXT_EDITS = ("truncate", "not-utf8", "alias-bomb", "deep", "duplicate", "tab")


def leaves(model: type[BaseModel] = Scenario, prefix: tuple = ()) -> list[tuple]:
    """Every field path of the scenario schema (nested settings included)."""
    out = []
    for name, info in model.model_fields.items():
        sub = [a for a in (info.annotation, *typing.get_args(info.annotation)) if isinstance(a, type) and issubclass(a, BaseModel)]
        out += leaves(sub[0], (*prefix, name)) if sub else [(*prefix, name)]
    return out


LEAVES = leaves()


def fast_text(name: str) -> dict:
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    data.setdefault("demand", {})["cell_size_m"] = 5000
    data.setdefault("candidates", {})["sources"] = ["geonames"]
    data.setdefault("outputs", {})["map"] = False
    if data.get("wishes", {}).get("file"):
        data["wishes"]["file"] = str((SCENARIO_DIR / data["wishes"]["file"]).resolve())
    return data


def apply(data: dict, edit: tuple) -> dict:
    kind, path = edit[0], edit[1]
    cur = data
    for key in path[:-1]:
        if not isinstance(cur.get(key), dict):
            cur[key] = {}
        cur = cur[key]
    if kind == "set":
        cur[path[-1]] = edit[2]
    elif kind == "drop":
        cur.pop(path[-1], None)
    else:  # a misspelt key
        cur[path[-1] + "s"] = cur.get(path[-1], 1)
    return data


def text_edit(text: str, how: str, at: int) -> bytes:
    if how == "truncate":
        return text[: at % max(len(text), 1)].encode()
    if how == "not-utf8":
        return text.encode("utf-8").replace(b"a", b"\xe6", 1)
    if how == "alias-bomb":
        bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
            f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
        return (text + bomb).encode()
    if how == "deep":
        return (text + "x: " + "[" * 5000 + "]" * 5000 + "\n").encode()
    if how == "duplicate":
        return (text + text.splitlines()[at % len(text.splitlines())] + "\n").encode()
    return text.replace("\n  ", "\n\t", 1).encode()


edits = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(LEAVES), st.sampled_from(HOSTILE)),
    st.tuples(st.just("set"), st.sampled_from(LEAVES), st.sampled_from(HOSTILE)),  # field values: the most common edit
    st.tuples(st.just("drop"), st.sampled_from(LEAVES)),
    st.tuples(st.just("misspell"), st.sampled_from(LEAVES)),
)

RUNNER = ("import resource, sys\nfrom siting.cli import main\ncode = main(sys.argv[2:])\n"
          "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))\nsys.exit(code)\n")  # fmt: skip


def _not_json(constant: str):
    raise AssertionError(f"{constant} is not JSON")


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # a runaway example fails, the machine stays up


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for every example (network, demand and matrices are built once)."""
    return tmp_path_factory.mktemp("fuzz-cache")


@settings(max_examples=int(os.environ.get("SITING_FUZZ_EXAMPLES", "12")), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(name=st.sampled_from(SHIPPED), changes=st.lists(edits, min_size=1, max_size=2),
       text=st.one_of(st.none(), st.none(), st.none(), st.tuples(st.sampled_from(TEXT_EDITS), st.integers(0, 10**6))))
def test_mutated_shipped_scenarios_run_or_fail_in_one_line(name, changes, text, tmp_path_factory, cache):
    tmp = tmp_path_factory.mktemp("fuzz")
    data = fast_text(name)
    for edit in changes:
        data = apply(data, edit)
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    scenario = tmp / "s.yaml"
    scenario.write_bytes(text_edit(body, *text) if text else body.encode("utf-8"))
    out, rss = tmp / "run", tmp / "rss"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SITING_CACHE_DIR": str(cache), "SITING_MAX_MEMORY": "1G"}
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-c", RUNNER, str(rss), "-q", "run", str(scenario), "--out", str(out)], env=env,
                       capture_output=True, text=True, timeout=LIMIT_S + 30, preexec_fn=_cap_memory)  # fmt: skip
    seconds = time.monotonic() - t
    what = f"{name} {changes} {text}: exit {p.returncode}, {seconds:.0f} s\n{p.stderr[-3000:]}"
    if os.environ.get("FUZZ_LOG"):
        with open(os.environ["FUZZ_LOG"], "a") as fh:
            fh.write(what[:400].replace("\n", " | ") + "\n")
    assert "Traceback" not in p.stderr and p.returncode in (0, 2), what
    assert seconds < LIMIT_S and int(rss.read_text()) < LIMIT_RSS, what
    if p.returncode == 0:
        for f in ("manifest.json", "metrics.json"):  # strict JSON: no Infinity or NaN
            json.loads((out / f).read_text(encoding="utf-8"), parse_constant=_not_json)
        assert (out / "proposals.csv").exists() and (out / "kommuner.csv").exists(), what
    else:
        errors = [line for line in p.stderr.splitlines() if line.startswith("siting: error:")]
        assert len(errors) == 1 and not out.exists(), what
