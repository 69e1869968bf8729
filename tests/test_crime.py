"""Crime data (SSB 08487): bundle, suppressed values and missing municipalities, weights, metrics."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from siting.crime import crime_metrics, demand_weights, kommune_crime_table, spread_offences
from siting.data import load_kommuner_geometry
from siting.data.crime import CRIME_PATH, GROUPS, PERIODS, load_offences
from siting.errors import DataError


@pytest.fixture(scope="module")
def kommuner():
    return load_kommuner_geometry()


@pytest.mark.parametrize("period", PERIODS)
def test_every_municipality_has_a_value_or_an_explicit_flag(kommuner, period):
    for group in GROUPS:
        o = load_offences(period, group, kommuner=kommuner)
        assert len(o) == 356 and set(o.crime_flag) <= {"value", "suppressed", "no data"}
        assert (o.crime_flag != "no data").sum() >= 355
        # suppressed: interval [0, 4] with midpoint 2, never 0
        sup = o[o.crime_flag == "suppressed"]
        assert (sup.offences == 2.0).all() and (sup.offences_low == 0).all() and (sup.offences_high == 4).all()
        assert len(o.attrs["suppressed"]) == len(sup)
        # Utsira is absent from SSB's table: "no data", not zero
        assert o.loc["1151", "crime_flag"] == "no data" and np.isnan(o.loc["1151", "offences"])
        assert o.attrs["no_data"] == ["1151 Utsira"]


def test_known_figures_2021_2022(kommuner):
    o = load_offences("2021-2022", "all", kommuner=kommuner)
    assert o.loc["0301", "offences"] == 59973  # Oslo: 301 in the source, 0301 here
    assert o.offences.sum() == 284597 and o.attrs["national_total"] == 286516  # placed vs national
    assert (o.crime_flag == "suppressed").sum() == 0  # "all offences" is never suppressed
    drugs = load_offences("2021-2022", "drugs", kommuner=kommuner)
    assert (drugs.crime_flag == "suppressed").sum() == 75


def test_bad_period_group_and_file(tmp_path):
    with pytest.raises(DataError, match="unknown crime period '2019-2020'"):
        load_offences("2019-2020")
    with pytest.raises(DataError, match="unknown offence group 'arson'"):
        load_offences(group="arson")
    f = tmp_path / "c.csv"
    f.write_text("kommunenummer,kommune,period,alt\n0301,Oslo,2021-2022,many\n", encoding="utf-8")
    with pytest.raises(DataError, match="non-numeric value 'many'"):
        load_offences(path=f)


@pytest.mark.shared
def test_build_script_reproduces_the_bundle(shared_data, tmp_path):
    out = tmp_path / "offences.csv"
    subprocess.run([sys.executable, "scripts/build_crime.py", "--out", str(out)], check=True, capture_output=True,
                   cwd=CRIME_PATH.parents[2])  # fmt: skip
    assert out.read_bytes() == CRIME_PATH.read_bytes()


def _demand():
    """Synthetic demand: two municipalities (Oslo 0301 with 3 points, Utsira 1151 with 1)."""
    return pd.DataFrame({"kommunenummer": ["0301", "0301", "0301", "1151"], "population": [100.0, 300.0, 600.0, 200.0],
                         "politidistrikt": ["Oslo", "Oslo", "Oslo", "Sør-Vest"]})  # fmt: skip


def _offences():
    o = pd.DataFrame({"offences": [50.0, np.nan], "offences_low": [50.0, np.nan], "offences_high": [50.0, np.nan],
                      "crime_flag": ["value", "no data"]}, index=pd.Index(["0301", "1151"], name="kommunenummer"))  # fmt: skip
    o.attrs = {"period": "2021-2022", "group": "all", "suppressed": [], "no_data": ["1151 Utsira"]}
    return o


def test_spreading_by_population_and_no_data_at_national_rate():
    d = _demand()
    off, info = spread_offences(d, _offences())
    assert off.offences.iloc[:3].tolist() == pytest.approx([5.0, 15.0, 30.0])  # 50 in proportion to 100:300:600
    # Utsira has no data: national rate of the municipalities with data (50 per 1 000) × 200 inhabitants
    assert off.offences.iloc[3] == pytest.approx(10.0)
    assert info["no_data_municipalities"] == ["1151 Utsira"] and "50.00 offences per 1 000" in info["no_data_rule"]


def test_weight_blends():
    d = _demand()
    d = pd.concat([d, spread_offences(d, _offences())[0]], axis=1)
    w, _ = demand_weights(d, "population")
    assert w.tolist() == d.population.tolist()
    w, _ = demand_weights(d, "offences")
    assert w.tolist() == pytest.approx([5, 15, 30, 10])
    w, desc = demand_weights(d, {"population": 0.5, "offences": 0.5})
    # offences scaled to the population total (1 200 / 60 = 20): both criteria weigh 600
    assert w.tolist() == pytest.approx([0.5 * 100 + 0.5 * 100, 0.5 * 300 + 0.5 * 300, 0.5 * 600 + 0.5 * 600, 0.5 * 200 + 0.5 * 200])
    assert "scaled" in desc
    from siting.errors import SitingError

    with pytest.raises(SitingError, match="not all 0"):
        demand_weights(d, {"population": 0, "offences": 0})


def test_crime_metrics_by_hand():
    d = _demand()
    d = pd.concat([d, spread_offences(d, _offences())[0]], axis=1)
    before = np.array([10.0, 40.0, np.inf, 50.0])
    after = np.array([10.0, 20.0, 25.0, 50.0])
    m = crime_metrics(d, before, after, 30.0, {})
    n = m["national"]
    assert n["offences"] == pytest.approx(60.0)
    assert n["offences_within_T_before"] == pytest.approx(5.0) and n["offences_within_T_after"] == pytest.approx(50.0)
    assert n["offences_per_1000"] == pytest.approx(50.0)
    assert m["politidistrikt"]["Oslo"]["share_offences_within_T_after"] == pytest.approx(1.0)
    kt = kommune_crime_table(d, before, after, 30.0, _offences())
    oslo = kt.set_index("kommunenummer").loc["0301"]
    assert oslo.offences_share_within_T_before == pytest.approx(0.1) and oslo.offences_share_within_T_after == 1.0
    assert np.isnan(kt.set_index("kommunenummer").loc["1151", "offences"])  # published value: no data
