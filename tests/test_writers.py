"""Writers and interrupts (issue 22 §5): SIGTERM cleans temporary folders, Ctrl-C stops a local
sweep at once, JSON outputs are strict, writers replace only what siting wrote, user CSVs in
Norwegian Excel's dialect are read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_run import fast_copy

from siting.cli import main
from siting.io import GENERATOR, check_output_file, html_by_siting, json_text, mark_html

ROOT = Path(__file__).resolve().parents[1]


def test_sigterm_while_writing_the_run_folder_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """SIGTERM used to leave hidden .<out>.* folders (3-6 MB each) beside --out, never cleaned."""
    from siting.pipeline import outputs

    real = outputs.json_text

    def terminated_midway(obj, **kw):  # a real SIGTERM while the run folder is being written
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler raises here
        return real(obj, **kw)

    monkeypatch.setattr(outputs, "json_text", terminated_midway)
    path = fast_copy("max-coverage-30", tmp_path, candidates={"sources": ["geonames"]}, outputs={"map": False})
    out = tmp_path / "out" / "tw"
    (tmp_path / "out").mkdir()
    assert main(["run", str(path), "--out", str(out)]) == 143
    assert "siting: terminated" in capsys.readouterr().err
    assert os.listdir(tmp_path / "out") == []  # no run folder, no hidden temporary folder
    assert signal.getsignal(signal.SIGTERM) is not None  # the previous handler is back


def test_ctrl_c_stops_a_local_sweep_within_seconds(tmp_path):
    """Ctrl-C in a local sweep used to take 18-75 s (workers finished their solves first)."""
    path = fast_copy("min-average-time", tmp_path, candidates={"sources": ["geonames"]})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)}
    p = subprocess.Popen([sys.executable, "-m", "siting", "-q", "sweep", str(path), "--vary", "new_offices=1..60",
                          "--jobs", "2", "--out", str(tmp_path / "sw")], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None and not list(scratch.glob("siting-sweep-*")):
            time.sleep(0.1)  # the matrices are shipped to the workers: the solving starts
        assert p.poll() is None, p.communicate()[1].decode()[-2000:]
        time.sleep(2)
        os.killpg(p.pid, signal.SIGINT)  # Ctrl-C goes to the whole foreground process group
        t = time.monotonic()
        _, err = p.communicate(timeout=60)
        stopped = time.monotonic() - t
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130 and "Traceback" not in err.decode(), err.decode()[-2000:]
    assert stopped < 10, stopped
    assert not (tmp_path / "sw").exists() and not list(tmp_path.glob(".sw.*")) and not list(scratch.glob("siting-sweep-*"))


def test_json_outputs_are_strict_and_say_what_was_not_finite():
    text = json_text({"status": "time_limit", "gap": float("inf"), "bound": -np.inf, "rows": [1.0, np.float64("nan")], "n": np.int64(3)})
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["gap"] is None and data["bound"] is None and data["rows"] == [1.0, None] and data["n"] == 3
    assert data["non_finite"] == {"gap": "inf", "bound": "-inf", "rows[1]": "nan"}
    assert "non_finite" not in json.loads(json_text({"gap": 0.0}))


def test_only_pages_siting_wrote_may_be_replaced(tmp_path):
    from siting.errors import SitingError

    ours, theirs = tmp_path / "ours.html", tmp_path / "theirs.html"
    ours.write_text(mark_html("<!DOCTYPE html><html><head><title>x</title></head><body></body></html>"), encoding="utf-8")
    theirs.write_text("<html><head></head></html>", encoding="utf-8")
    assert GENERATOR in ours.read_text(encoding="utf-8") and html_by_siting(ours) and not html_by_siting(theirs)
    check_output_file(ours, force=True, written_by=html_by_siting)
    for f, force, match in ((ours, False, "use --force"), (theirs, True, "not written by siting"), (tmp_path, True, "is a folder")):
        with pytest.raises(SitingError, match=match):
            check_output_file(f, force=force, written_by=html_by_siting)
    assert (ROOT / "maps" / "max-coverage-30.html").exists() and html_by_siting(ROOT / "maps" / "max-coverage-30.html")


def test_norwegian_excel_csv_is_read_like_a_comma_csv(tmp_path):
    from siting.candidates import read_extra_points
    from siting.data import load_kommuner
    from siting.sweep import read_list

    excel = tmp_path / "punkter.csv"
    excel.write_bytes("\ufeffname;lon;lat\nMitt lokale;10,75;59,91\n".encode("utf-8"))  # Excel: «CSV UTF-8», Norwegian locale
    pts = read_extra_points(excel, load_kommuner())
    back = pts.to_crs(4326).geometry.iloc[0]
    assert list(pts.name) == ["Mitt lokale"] and (round(back.x, 6), round(back.y, 6)) == (10.75, 59.91)
    runs = tmp_path / "runs.csv"
    runs.write_bytes("\ufeffnew_offices;network.speed_factor\n20;0,8\n".encode("utf-8"))
    assert read_list(runs) == [{"new_offices": 20, "network.speed_factor": 0.8}]
