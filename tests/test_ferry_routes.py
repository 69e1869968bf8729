"""Ferry routes in the Kartverket graph: one wait per crossing, the half-headway rule, the flat
rule for links without a sourced route, and the build cache keyed on the table's content.

The networks here are synthetic (``synthetic_roads.npz`` written per test): a straight road with
a two-link ferry route in the middle, A -(road)- P -(ferry 5 km)- J -(ferry 5 km)- Q -(road)- B,
where J is a landing in the fjord with no road; a third ferry link Q-R without a sourced route.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from siting.errors import DataError
from siting.network import NetworkSpec, build_network
from siting.network.ferries import TABLE_COLUMNS
from siting.network.kartverket import encode_road_links
from siting.paths import DATA_DIR


def approx(x):
    return pytest.approx(x, abs=1e-3)  # alighting costs the graph's minimum edge time (1e-4 min)

X0, Y0 = 300_000, 6_700_000
P, J, Q, R = (10_000, 0), (15_000, 0), (20_000, 0), (20_000, 6_000)
TO_LL = Transformer.from_crs(25833, 4326, always_xy=True)


def _xy(p):
    return X0 + p[0], Y0 + p[1]


def _ll(p) -> str:
    lon, lat = TO_LL.transform(*_xy(p))
    return f"{lon:.6f},{lat:.6f}"


def _roads(tmp_path, spur_at_j: bool = False, branch_at_j: bool = False):
    lines = [
        ("enkelBilveg", [(0, 0), P]), ("bilferje", [P, J]), ("bilferje", [J, Q]),
        ("enkelBilveg", [Q, (30_000, 0)]), ("bilferje", [Q, R]), ("enkelBilveg", [R, (20_000, 16_000)]),
    ]  # fmt: skip
    if spur_at_j:
        lines.append(("enkelBilveg", [J, (15_000, -8_000)]))
    if branch_at_j:  # a ferry link without a route from the junction J to an island K
        lines += [("bilferje", [J, (15_000, 5_000)]), ("enkelBilveg", [(15_000, 5_000), (15_000, 12_000)])]
    gdf = gpd.GeoDataFrame(
        {"typeVeg": [t for t, _ in lines], "vegkategori": ["E"] * len(lines), "motorvegtype": [None] * len(lines)},
        geometry=[shapely.LineString([_xy(p) for p in pts]) for _, pts in lines], crs=25833,
    )  # fmt: skip
    path = tmp_path / "synthetic_roads.npz"
    np.savez_compressed(path, **encode_road_links(gdf))
    return path


def _table(tmp_path, *rows, name="synthetic_ferries.csv"):
    path = tmp_path / name
    path.write_text("\n".join([",".join(TABLE_COLUMNS), *rows]) + "\n", encoding="utf-8")
    return path


def _row(rid="p-q", crossing="20", headway="30", departures="", stops="", status="operating", a=P, b=Q):
    return (f"{rid},P - Q,P,Q,{_ll(a)},{_ll(b)},{stops},{crossing},{headway},{departures},{status},"
            "https://example.org/synthetic,timetable,2024")  # fmt: skip


def _node(g, xy) -> int:
    """Nearest road node (route nodes share their landing's position but are not snappable)."""
    idx = np.flatnonzero(g.snappable)
    return int(idx[cKDTree(g.node_xy[idx]).query(xy)[1]])


def _minutes(g, a, b) -> float:
    ia, ib = _node(g, _xy(a)), _node(g, _xy(b))
    return float(dijkstra(g.matrix, indices=ia)[ib])


def _build(tmp_path, table=None, spur_at_j=False, branch_at_j=False, **spec):
    roads = _roads(tmp_path, spur_at_j, branch_at_j)
    return build_network(roads, NetworkSpec(**spec), use_cache=False, ferries=table)


def test_one_wait_per_crossing_on_a_two_link_route(tmp_path):
    flat = _build(tmp_path, ferry_table=False)
    assert _minutes(flat, P, Q) == approx(2 * (5 / 25 * 60 + 15))  # two links, two waits
    g = _build(tmp_path, _table(tmp_path, _row()))
    assert _minutes(g, P, Q) == approx(15 + 20)  # half of the 30-min headway, once, plus the crossing
    assert _minutes(g, Q, P) == approx(35)
    t = g.info["ferry_table"]
    assert (t["routes_used"], t["links_from_table"], t["links_fallback"]) == (1, 2, 1)


def test_intermediate_stop_boards_once_and_splits_the_crossing_by_length(tmp_path):
    stop = _ll(J).replace(",", " ")
    g = _build(tmp_path, _table(tmp_path, _row(stops=stop)), spur_at_j=True)
    s = (15_000, -8_000)  # the road end of the spur at the stop J
    road_to_j = 8 / 68 * 60
    assert _minutes(g, P, Q) == approx(35)  # sailing through the stop adds no wait
    assert _minutes(g, P, s) == approx(15 + 10 + road_to_j)  # half the crossing to the stop
    assert _minutes(g, s, Q) == approx(road_to_j + 15 + 10)  # boarding at the stop waits once


def test_a_flat_link_at_a_junction_of_the_route_is_a_change_of_ferry(tmp_path):
    # the island K hangs on the route's junction J by a link the table does not cover: it stays in
    # the network, reached by the route to J (one wait, half the crossing) and the flat link J-K
    g = _build(tmp_path, _table(tmp_path, _row()), branch_at_j=True)
    k = (15_000, 12_000)
    assert _minutes(g, P, k) == approx(15 + 10 + (5 / 25 * 60 + 15) + 7 / 68 * 60)
    assert _minutes(g, P, Q) == approx(35)  # the route itself still waits once



def test_another_routes_terminal_in_the_fjord_is_a_change_of_ferry(tmp_path):
    # route p-q passes the junction J; route j-k starts at J (N1000 puts its quay on p-q's line) and
    # sails to the island K: K stays in the network, by p-q to J (alighting there) and j-k on to K
    k_route = _row("j-k", crossing="12", headway="20", a=J, b=(15_000, 5_000))
    g = _build(tmp_path, _table(tmp_path, _row(), k_route), branch_at_j=True)
    k = (15_000, 12_000)
    assert _minutes(g, P, k) == approx(15 + 10 + 10 + 12 + 7 / 68 * 60)  # two routes, one wait each
    assert g.info["ferry_table"]["links_fallback"] == 1  # only Q-R keeps the flat rule

def test_the_table_never_drops_a_road_node():
    roads = DATA_DIR / "roads" / "n1000_veglenke.npz"
    on, off = build_network(roads, NetworkSpec()), build_network(roads, NetworkSpec(ferry_table=False))
    assert np.array_equal(on.node_xy[on.snappable], off.node_xy[off.snappable])  # same snap targets, same order


def test_wait_rules(tmp_path):
    g = _build(tmp_path, _table(tmp_path, _row(headway="", departures="12")))
    assert _minutes(g, P, Q) == approx(1080 / 12 / 2 + 20)  # departures over an 18-hour service day
    g = _build(tmp_path, _table(tmp_path, _row(headway="")), ferry_wait_minutes=9)
    assert _minutes(g, P, Q) == approx(9 + 20)  # no frequency: the flat wait
    g = _build(tmp_path, _table(tmp_path, _row()), ferry_wait=4)
    assert _minutes(g, P, Q) == approx(4 + 20)  # fixed minutes
    g = _build(tmp_path, _table(tmp_path, _row(crossing="")))
    assert _minutes(g, P, Q) == approx(15 + 2 * 5 / 25 * 60)  # no crossing time: the flat speed


def test_links_without_a_route_keep_the_flat_rule_and_are_listed(tmp_path):
    g = _build(tmp_path, _table(tmp_path, _row()), ferry_wait_minutes=12, ferry_speed_kmh=30)
    assert _minutes(g, Q, R) == approx(6 / 30 * 60 + 12)
    (f,) = g.info["ferry_table"]["fallback_links"]
    assert f["km"] == 6 and f["in_network"]
    assert "ferries by route for 2 of 3 links" in g.source


def test_closed_route_has_no_edge_and_unmatched_rows_are_reported(tmp_path):
    far = (40_000, 40_000)
    g = _build(tmp_path, _table(tmp_path, _row(status="closed"), _row("x-y", a=far, b=Q)))
    t = g.info["ferry_table"]
    assert t["links_closed"] == 2 and t["routes_used"] == 0
    assert t["routes_unmatched"][0]["route_id"] == "x-y" and "terminal A" in t["routes_unmatched"][0]["reason"]
    # without the closed crossing the west bank (A-P) is cut off and dropped from the network
    assert np.hypot(*(g.node_xy[_node(g, _xy(P))] - _xy(P))) > 1000 and g.info["nodes_dropped"] > 0


def test_cache_key_follows_the_table_content(tmp_path, monkeypatch):
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "cache"))
    roads, table = _roads(tmp_path), _table(tmp_path, _row())
    g1 = build_network(roads, NetworkSpec(), ferries=table)
    assert g1.info["cache"] == "miss" and _minutes(g1, P, Q) == approx(35)
    g2 = build_network(roads, NetworkSpec(), ferries=table)
    assert g2.info["cache"] == "hit" and _minutes(g2, P, Q) == approx(35)
    table.write_text(table.read_text().replace(",20,30,", ",20,10,"))  # same file, new headway
    g3 = build_network(roads, NetworkSpec(), ferries=table)
    assert g3.info["cache"] == "miss" and _minutes(g3, P, Q) == approx(25)
    assert build_network(roads, NetworkSpec(ferry_table=False))  # the switch is part of the key too
    with pytest.raises(DataError, match="inputs.ferries"):
        build_network(roads, NetworkSpec(), ferries=tmp_path / "missing.csv")


def test_bundled_mannheller_fodnes_is_crossing_plus_half_headway():
    g = build_network(DATA_DIR / "roads" / "n1000_veglenke.npz", NetworkSpec())
    to_utm = Transformer.from_crs(4326, 25833, always_xy=True)
    m, f = (_node(g, to_utm.transform(*ll)) for ll in ((7.33543, 61.15978), (7.37575, 61.14766)))
    assert float(dijkstra(g.matrix, indices=m)[f]) == approx(15 + 20 / 2)
    assert float(dijkstra(g.matrix, indices=f)[m]) == approx(25)
