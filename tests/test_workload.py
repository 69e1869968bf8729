"""Catchment loads, hand-checked on a small synthetic instance; Gini; centrality-class metrics and the
centrality weight; municipalities with an office."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting import periphery, workload
from siting.crime import demand_weights

INF = np.inf
# sites: 0, 1 = two locations of one existing office "A"; 2 = existing office "B"; 3, 4 = candidates
T_SYN = np.array([
    [2, 9, 9, 1, INF],    # p0: nearest existing 0 (A); candidate 3 is closer
    [9, 3, 8, INF, 5],    # p1: nearest existing 1 (A); candidate 4 is farther
    [7, 7, 4, 4, 2],      # p2: nearest existing 2 (B); candidate 3 ties with B (B keeps it), candidate 4 closer
    [5, 6, 5, INF, INF],  # p3: 0 and 2 tie at 5: the lower index (0, office A) takes it
    [INF, INF, INF, 3, INF],  # p4: no existing office reaches it; candidate 3 does
])  # fmt: skip
FIXED = np.array([True, True, True, False, False])
POP = np.array([100.0, 200, 300, 400, 50])
OFF = np.array([10.0, 0, 30, 5, 1])


def test_catchment_loads_by_hand():
    labels = np.array(["A", "A", "B", "new 3", "new 4"], object)
    t = workload.office_loads(T_SYN, FIXED, [3, 4], {"population": POP, "offences": OFF}, labels)
    # before: A = p0 + p1 + p3 = 100 + 200 + 400 = 700 people, 10 + 0 + 5 = 15 offences; B = p2 = 300, 30; p4 nobody's
    assert t.loc["A", "population_before"] == 700 and t.loc["A", "offences_before"] == 15
    assert t.loc["B", "population_before"] == 300 and t.loc["B", "offences_before"] == 30
    # after opening 3 and 4: 3 takes p0 (closer than A) and p4 (unserved so far); 4 takes p2 (2 < 4); A keeps p1, p3
    assert t.loc["A", "population_after"] == 600 and t.loc["A", "offences_after"] == 5
    assert t.loc["B", "population_after"] == 0
    assert t.loc["new 3", "population_after"] == 150 and t.loc["new 3", "offences_after"] == 11
    assert t.loc["new 4", "population_after"] == 300 and t.loc["new 4", "offences_after"] == 30
    assert t.loc["new 3", "population_before"] == 0 and bool(t.loc["new 3", "new"])
    names = pd.Series({"A": "Office A", "B": "Office B", "new 3": "Site 3", "new 4": "Site 4"})
    district = pd.Series({"A": "D1", "B": "D2", "new 3": "D1", "new 4": "D2"})
    m = workload.workload_metrics(t, district, names)
    pop = m["national"]["population"]
    assert pop["norm"] == pytest.approx(1050 / 4)  # all people reached after (1 000 + p4's 50) over 2 + 2 offices
    assert pop["before"]["offices"] == 2 and pop["after"]["offices"] == 4
    assert pop["before"]["per_office_mean"] == 500 and pop["before"]["max"] == 700
    # above the norm 262.5: before A (700) and B (300); after A (600) and new 4 (300)
    assert pop["before"]["above_norm"] == 2 and pop["before"]["load_above_norm"] == pytest.approx(437.5 + 37.5)
    assert pop["after"]["above_norm"] == 2 and pop["after"]["share_above_norm"] == 0.5
    assert pop["after"]["load_above_norm"] == pytest.approx(337.5 + 37.5)
    assert [b["office"] for b in m["busiest_after"]["population"]] == ["Office A", "Site 4", "Site 3", "Office B"]
    d1 = m["politidistrikt"]["D1"]["population"]
    assert d1["before"]["offices"] == 1 and d1["after"]["offices"] == 2 and d1["after"]["total"] == 750


def test_gini():
    assert workload.gini([5, 5, 5, 5]) == 0
    assert workload.gini([0, 0, 0, 4]) == pytest.approx(0.75)  # (n − 1) / n for one carrying all
    assert workload.gini([1, 3]) == pytest.approx(0.25)  # mean absolute difference 2 / (2 × 2 × mean 2)


def test_class_metrics_gap_and_municipalities():
    before = np.array([10.0, 40, 20, 50, INF])
    after = np.array([10.0, 20, 20, 25, 30])
    classes = np.array([1, 2, 5, 6, 6])
    pop = np.array([100.0, 100, 50, 50, 100])
    m = periphery.class_metrics(pop, classes, before, after, 30)
    assert m["central"]["share_within_T_before"] == 0.5 and m["central"]["share_within_T_after"] == 1.0
    assert m["small"]["share_within_T_before"] == pytest.approx(0.25) and m["small"]["share_within_T_after"] == pytest.approx(1.0)
    assert m["gap"]["share_within_T_before"] == pytest.approx(-0.25)
    assert m["small"]["mean_time_before"] == pytest.approx(35)  # unreachable left out of the mean
    assert m["classes"]["6"]["population"] == 150
    cent = pd.DataFrame({"kommunenummer": ["0301", "1111", "2222"], "centrality_class": [1, 6, 5]})
    mw = periphery.municipalities_with_office(["0301", "0301", "1111", "2222"], np.array([True, True, False, False]), [2], cent)
    assert mw["before"] == 1 and mw["after"] == 2 and mw["new_municipalities"] == ["1111"]
    assert mw["by_class"]["6"] == {"municipalities": 1, "before": 0, "after": 1}


def test_centrality_weight_scaled_to_national_population():
    demand = pd.DataFrame({"population": [100.0, 300, 600], "centrality_class": [1, 5, 6], "offences": [1.0, 1, 1]})
    w, desc = demand_weights(demand, {"centrality": 1.0})
    assert w == pytest.approx([0, 300 * 1000 / 900, 600 * 1000 / 900]) and "centrality classes 5, 6" in desc
    w, _ = demand_weights(demand, {"population": 0.5, "centrality": 0.5}, small=(6,))
    assert w == pytest.approx([50, 150, 300 + 500])
    assert w.sum() == pytest.approx(demand.population.sum())
