"""The ferry-route table: validation of sourced rows and their match to the N1000 ferry links."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siting.errors import DataError
from siting.network.ferries import SOURCE_COLUMNS, TABLE_COLUMNS, read_ferry_table, route_wait
from siting.paths import DATA_DIR

REPO = Path(__file__).resolve().parents[1]
HEADER = ",".join(TABLE_COLUMNS)
ROW = "a-b,A - B,A,B,5.0,60.0,5.1,60.1,,20,30,,operating,https://example.org/x,timetable,2024"


def _table(tmp_path, *rows, header=HEADER) -> Path:
    p = tmp_path / "synthetic_ferries.csv"
    p.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return p


def test_bundled_table_is_valid_and_sourced():
    t = read_ferry_table(DATA_DIR / "roads" / "ferries.csv")
    assert len(t) >= 30 and t["route_id"].is_unique
    assert t["source"].str.startswith("http").all()
    # most rows carry a crossing time or a frequency; a row without numbers still identifies one crossing
    # over several links (one wait, flat speed) and says in its sourced note why no number is given
    assert t["crossing_minutes"].notna().sum() >= 60
    assert (t["headway_minutes"].notna() | t["departures_per_day"].notna()).sum() >= 40
    src = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted((REPO / "scripts" / "sources").glob("ferry_routes_*.csv"))])
    bare = src[(src.crossing_minutes == "") & (src.headway_minutes == "") & (src.departures_per_day == "")]
    assert (bare.note.str.len() > 20).all(), bare.route_id.tolist()
    mf = t.set_index("route_id").loc["mannheller-fodnes"]
    assert (mf.crossing_minutes, mf.headway_minutes) == (15, 20)


def test_build_script_reproduces_bundled_table(tmp_path):
    out = tmp_path / "ferries.csv"
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "build_ferries.py"), "--out", str(out)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (DATA_DIR / "roads" / "ferries.csv").read_bytes()


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (ROW.replace("a-b,", "A B,", 1), "route_id"),
        (ROW.replace(",20,30,", ",-3,30,"), "crossing_minutes"),
        (ROW.replace(",20,30,", ",20,many,"), "headway_minutes"),
        (ROW.replace("operating", "gone"), "status"),
        (ROW.replace("timetable", "rumour"), "source_kind"),
        (ROW.replace("https://example.org/x", "a book"), "source"),
        (ROW.replace("5.0,60.0", "50.0,60.0"), "lon_a"),
    ],
)
def test_bad_rows_name_the_field(tmp_path, row, field):
    with pytest.raises(DataError) as e:
        read_ferry_table(_table(tmp_path, row))
    assert f"field '{field}'" in str(e.value) and "synthetic_ferries.csv" in str(e.value)


def test_duplicate_ids_and_missing_columns(tmp_path):
    with pytest.raises(DataError, match="appears twice"):
        read_ferry_table(_table(tmp_path, ROW, ROW))
    with pytest.raises(DataError, match="missing column 'status'"):
        read_ferry_table(_table(tmp_path, header=HEADER.replace(",status", "")))
    assert len(SOURCE_COLUMNS) == 19


def test_wait_rule(tmp_path):
    t = read_ferry_table(_table(tmp_path, ROW, ROW.replace("a-b,", "c-d,").replace(",20,30,,", ",20,,12,"),
                                ROW.replace("a-b,", "e-f,").replace(",20,30,,", ",20,,,")))  # fmt: skip
    rows = t.set_index("route_id")
    assert route_wait(rows.loc["a-b"], "half_headway", 15) == (15.0, "half headway")
    w, how = route_wait(rows.loc["c-d"], "half_headway", 15)
    assert math.isclose(w, 1080 / 12 / 2) and "departures" in how
    assert route_wait(rows.loc["e-f"], "half_headway", 15) == (15.0, "fallback wait")
    assert route_wait(rows.loc["a-b"], 7.5, 15) == (7.5, "fixed")
    # the whole headway (the high end of the uncertainty band): twice the expected wait, the same fallback
    assert route_wait(rows.loc["a-b"], "full_headway", 15) == (30.0, "full headway")
    assert math.isclose(route_wait(rows.loc["c-d"], "full_headway", 15)[0], 1080 / 12)
    assert route_wait(rows.loc["e-f"], "full_headway", 15) == (15.0, "fallback wait")
