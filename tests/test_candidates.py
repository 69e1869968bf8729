"""Candidate sites: bundled sources, deduplication, user points (issue 15 C6), site-name matching (C4, C5, C10)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from siting.candidates import (
    DEFAULT_SOURCES,
    build_candidates,
    dedup,
    load_bundled_candidates,
    pick_site,
    read_extra_points,
    resolve_site,
)
from siting.data import load_kommuner_geometry, load_places, load_stations
from siting.errors import DataError, SitingError


@pytest.fixture(scope="module")
def kommuner():
    return load_kommuner_geometry()


@pytest.fixture(scope="module")
def national(kommuner):
    return build_candidates(kommuner, load_places(), load_stations())


def test_bundle_holds_three_real_sources():
    b = load_bundled_candidates()
    counts = b.source.value_counts()
    assert set(counts.index) == {"n1000_place", "n1000_builtup", "ssb_cluster"}
    assert counts.min() >= 150 and len(b) > 5000
    assert (b.population >= 0).all() and b.name.str.len().gt(0).all()


def test_national_default_is_3000_to_6000_candidates_from_several_sources(national, kommuner):
    assert 3000 <= len(national) <= 6000
    counts = national.source.value_counts()
    assert {"n1000_place", "n1000_builtup", "geonames", "ssb_cluster"} <= set(counts.index)
    assert national.site_id.is_unique and national.kommunenummer.isin(kommuner.kommunenummer).all()
    assert national.politidistrikt.notna().all()
    # the documented rule: nothing within 2 km of an office, no two candidates within 1 km
    xy = np.column_stack([national.geometry.x, national.geometry.y])
    st = load_stations()
    d_station = np.min(np.hypot(*(xy[:, None, :] - np.column_stack([st.geometry.x, st.geometry.y])[None]).transpose(2, 0, 1)), axis=1)
    assert d_station.min() >= 2000
    from scipy.spatial import cKDTree

    assert not cKDTree(xy).query_pairs(999.0)


def test_grid_clusters_are_named_after_the_nearest_settlement(national):
    """Issue 21: "Frogn (grid 255/6624)" becomes "Drøbak (grid 255/6624)" ("ved Drøbak, Frogn" on the
    pages); the id does not move and the bundled name still finds the site."""
    from siting.i18n import plain_name

    row = national[national["aliases"].str.contains("Frogn (grid 255/6624)", regex=False)].iloc[0]
    assert row["name"] == "Drøbak (grid 255/6624)" and row["kommune"] == "Frogn"
    assert plain_name(row["name"], row["kommune"], "nb") == "ved Drøbak, Frogn"
    assert plain_name(row["name"], row["kommune"], "en") == "near Drøbak, Frogn"
    idx, kind = resolve_site("Frogn (grid 255/6624)", national, load_kommuner_geometry(), "sites")
    assert list(national.site_id.iloc[idx]) == [row["site_id"]] and kind == "place"
    renamed = build_candidates(load_kommuner_geometry(), load_places(), load_stations(), sources=["ssb_cluster"])
    plain = renamed["name"].str.replace(r" \(grid .*", "", regex=True)
    assert (plain != renamed["kommune"]).mean() > 0.5  # most clusters now carry a settlement's name
    assert not renamed["name"].str.contains(r"\(grid .*\(grid", regex=True).any()


def test_scenario_chooses_sources_and_dedup_distance(kommuner):
    places, st = load_places(), load_stations()
    only_places = build_candidates(kommuner, places, st, sources=["geonames"], dedup_distance_m=0)
    assert set(only_places.source) == {"geonames"}
    coarse = build_candidates(kommuner, places, st, sources=DEFAULT_SOURCES, dedup_distance_m=3000)
    fine = build_candidates(kommuner, places, st, sources=DEFAULT_SOURCES, dedup_distance_m=500)
    assert len(coarse) < len(fine)
    with pytest.raises(SitingError, match="unknown candidate source 'osm'"):
        build_candidates(kommuner, places, st, sources=["osm"])


def test_dedup_keeps_the_first_and_records_aliases():
    pts = gpd.GeoDataFrame({"name": ["A", "B", "C", "D"]},
                           geometry=gpd.points_from_xy([0, 500, 1200, 5000], [0, 0, 0, 0]), crs=25833)  # fmt: skip
    keep, owner = dedup(pts, 1000)
    # B is within 1 km of A (dropped), C is 1.2 km from A and 700 m from dropped B (kept)
    assert keep.tolist() == [True, False, True, True] and owner.tolist() == [0, 0, 2, 3]
    assert dedup(pts, 0)[0].all()


def _csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "points.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_extra_points_in_norway_are_accepted_with_their_municipality(tmp_path, kommuner):
    # Ålesund harbour and a point ~300 m off the generalised coast of Ålesund
    p = _csv(tmp_path, "name,lon,lat\nOffered premises,6.1549,62.4723\n")
    pts = read_extra_points(p, kommuner)
    assert len(pts) == 1 and pts.source.iat[0] == "user"
    cand = build_candidates(kommuner, load_places(), load_stations(), sources=["geonames"], extra_points=p,
                            min_distance_m=0)  # fmt: skip
    row = cand[cand.source == "user"].iloc[0]
    assert row["name"] == "Offered premises" and row["kommune"] == "Ålesund"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Paris,2.3522,48.8566", r"row 1 \('Paris'\): lon 2.3522, lat 48.8566 is 1,\d{3}\.\d km from Norway's land area"),
        ("Swapped,59.91,10.75", "lon and lat look swapped"),
        ("North Sea,3.0,58.5", "km from Norway's land area .allowed: 1000 m from land.; check the coordinates"),
        ("Bad,abc,60", r"lon 'abc' is not a number"),
        ("Nowhere,200,95", "outside Norway's land area"),
    ],
)
def test_extra_points_outside_norway_are_one_line_errors(tmp_path, kommuner, row, message):
    p = _csv(tmp_path, f"name,lon,lat\n{row}\n")
    with pytest.raises(DataError, match=message) as exc:
        read_extra_points(p, kommuner)
    assert "\n" not in str(exc.value) and str(p) in str(exc.value)


def test_extra_points_tolerance_is_stated_distance(tmp_path, kommuner):
    # a point in the sea ~3 km west of the outer coast at Utsira: refused at 1 km, accepted at 10 km
    p = _csv(tmp_path, "name,lon,lat\nOffshore,4.80,59.31\n")
    with pytest.raises(DataError, match="allowed: 1000 m from land"):
        read_extra_points(p, kommuner)
    assert len(read_extra_points(p, kommuner, max_offshore_m=10_000)) == 1


# ---------------------------------------------------------------- site names (issue 15 C4, C5, C10)
def test_municipality_name_means_all_its_candidates(national, kommuner):
    hit, kind = resolve_site("Ålesund", national, kommuner, "constraints.forbidden_sites")
    assert kind == "kommune" and len(hit) > 3
    assert set(national.loc[hit, "kommunenummer"]) == {"1507"}
    assert len(hit) == (national.kommunenummer == "1507").sum()
    same, _ = resolve_site("1507", national, kommuner, "x")
    assert sorted(same) == sorted(hit)


def test_ambiguous_place_name_lists_matches_with_municipalities(national, kommuner):
    with pytest.raises(SitingError) as exc:
        resolve_site("Dale", national, kommuner, "constraints.forbidden_sites")
    msg = str(exc.value)
    assert "ambiguous" in msg and "Dale (4628 Vaksdal)" in msg and "Dale (3437 Sel)" in msg and "\n" not in msg
    hit, kind = resolve_site("Dale (Vaksdal)", national, kommuner, "x")
    assert kind == "place" and set(national.loc[hit, "kommune"]) == {"Vaksdal"}
    # a municipality name wins over places of the same name elsewhere (Vik in Sogn vs Vik in Hole, Sømna)
    hit, kind = resolve_site("Vik", national, kommuner, "x")
    assert kind == "kommune" and set(national.loc[hit, "kommune"]) == {"Vik"}
    with pytest.raises(SitingError, match="municipalities 1515 Herøy, 1818 Herøy"):
        resolve_site("Herøy", national, kommuner, "x")


def test_real_municipality_without_candidates_is_not_a_spelling_error(kommuner):
    places = load_places()
    cand = build_candidates(kommuner, places, load_stations(), sources=["geonames"], dedup_distance_m=0)
    empty = kommuner[~kommuner.kommunenummer.isin(cand.kommunenummer)].iloc[0]
    with pytest.raises(SitingError) as exc:
        resolve_site(empty["name"], cand, kommuner, "constraints.required_sites")
    assert "has no candidate sites" in str(exc.value) and "spelling" not in str(exc.value)
    with pytest.raises(SitingError, match=r"check spelling.*|did you mean 'Trondheim'"):
        resolve_site("Trondhiem", cand, kommuner, "sites")


def test_pick_site_takes_the_municipalitys_main_place(national, kommuner):
    j = pick_site("Sandefjord", national, kommuner, "sites")
    assert national.loc[j, "kommune"] == "Sandefjord"


# ---------------------------------------------------------------- C4 end to end

def test_a_site_id_picks_that_site(national, kommuner):
    """The map's what-if export writes candidates by ``site_id``: every id resolves to its own row,
    also where its name is shared (ambiguous as a name)."""
    dup = national["name"].duplicated(keep=False)
    for j in [*national.index[dup][:5], *national.index[~dup][:3]]:
        assert pick_site(national.site_id[j], national, kommuner, "sites") == j

def _scenario(tmp_path: Path, name: str, **fields) -> Path:
    import yaml

    data = {"name": name, "new_offices": 5, "model": {"type": "mclp", "threshold_minutes": 30},
            "demand": {"cell_size_m": 5000}, "outputs": {"map": False}, **fields}  # fmt: skip
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_municipality_in_forbidden_and_required_sites_means_all_its_candidates(tmp_path, shared_data):
    import pandas as pd

    from siting.run import run_scenario

    def proposals(path):
        return pd.read_csv(run_scenario(path, tmp_path / path.stem) / "proposals.csv", dtype={"kommunenummer": str})

    free = proposals(_scenario(tmp_path, "free"))
    top = free.kommune.iloc[0]  # the municipality of the best new site
    bound = proposals(_scenario(tmp_path, "bound", constraints={"forbidden_sites": [top], "required_sites": ["Engerdal"]}))
    assert top not in set(bound.kommune) and len(bound) == 5
    assert (bound.kommune == "Engerdal").sum() >= 1 and "Engerdal" not in set(free.kommune)


# ---------------------------------------------------------------- evaluate-plan at the real localities
#: Independent public coordinates of the localities of the 20 offices opened 2022-2024, by office
#: name in data/stations: ("n1000", label) = Kartverket N1000 place-name label in ../shared;
#: ("geonames", name) = GeoNames cities500 (data/places); ("osm", id) = OpenStreetMap 2026 police
#: object in ../shared; ("airport", ICAO) = the airportsdata package; ("wgs84", lon, lat, source).
REAL_LOCALITIES = {
    "Magnormoen politistasjon": ("osm", 12850525199),  # "grensetjänsten", the Swedish border service at the crossing
    "Engerdal tjenestested": ("geonames", "Engerdal"),
    "Meråker tjenestested": ("n1000", "Meråker"),
    "Mortensrud politipost": ("wgs84", 10.831111, 59.848611, "de.wikipedia.org/wiki/Mortensrud (Norgeskart)"),
    "Hvaler tjenestested": ("geonames", "Skjærhalden"),
    "Salangen politistasjon": ("n1000", "Sjøvegan"),
    "Sandefjord lufthavn Torp tjenestested": ("airport", "ENTO"),
    "Sigdal tjenestested": ("n1000", "Prestfoss"),
    "Steigen tjenestested": ("geonames", "Leinesfjorden"),
    "Geiranger tjenestested": ("n1000", "Geiranger"),
    "Sørumsand tjenestested": ("n1000", "Sørumsand"),
    "Rakkestad tjenestested": ("n1000", "Rakkestad"),
    "Karlsøy tjenestested": ("n1000", "Hansnes"),
    "Kvinesdal tjenestested": ("n1000", "Liknes"),
    "Levanger tjenestested": ("geonames", "Levanger"),  # the N1000 label stands 5.6 km off the town
    "Nesodden tjenestested": ("n1000", "Nesoddtangen"),
    "Sør-Odal tjenestested": ("n1000", "Skarnes"),
    "Vaksdal tjenestested": ("geonames", "Dale"),
    "Åseral tjenestested": ("n1000", "Kyrkjebygda"),
    "Hemsedal tjenestested": ("geonames", "Trøim"),
}


def _reference_points(shared: Path) -> dict[str, list]:
    from shapely.geometry import Point

    labels = gpd.read_file(shared / "n1000" / "StedsnavnTekst.gpkg")
    osm = gpd.read_file(shared / "stations" / "osm_police_norway_2026.geojson").to_crs(25833)
    places = load_places()
    out = {}
    for office, ref in REAL_LOCALITIES.items():
        kind = ref[0]
        if kind == "n1000":
            pts = list(labels[labels.fulltekst == ref[1]].geometry.centroid)
        elif kind == "geonames":
            pts = list(places[places.name == ref[1]].geometry)
        elif kind == "osm":
            pts = list(osm[osm["osm_id"].astype(str) == str(ref[1])].geometry)
        elif kind == "airport":
            a = pytest.importorskip("airportsdata").load()[ref[1]]
            pts = list(gpd.GeoSeries([Point(a["lon"], a["lat"])], crs=4326).to_crs(25833))
        else:
            pts = list(gpd.GeoSeries([Point(ref[1], ref[2])], crs=4326).to_crs(25833))
        assert pts, f"no reference point for {office} ({ref})"
        out[office] = pts
    return out


def test_evaluate_plan_places_the_decided_offices_at_their_real_localities(shared_data):
    from siting import pipeline
    from siting.paths import SCENARIO_DIR
    from siting.scenario import load_scenario

    sc = load_scenario(SCENARIO_DIR / "evaluate-plan.yaml")
    sc.demand.cell_size_m = 5000
    inputs = pipeline.load_inputs(sc)
    plan = inputs.sites.iloc[pipeline.plan_sites(sc.sites, inputs)]
    assert len(plan) == 20 and plan.site_id.is_unique and set(plan.source) == {"office opened later"}
    refs = _reference_points(shared_data)
    assert set(plan["name"]) == set(refs)
    far = {}
    for s in plan.itertuples():
        d = min(s.geometry.distance(p) for p in refs[s.name])
        if d > 3000:
            far[s.name] = round(d)
    assert not far, f"decided sites more than 3 km from their localities: {far}"
    # the stand-ins of the old plan were Oslo centre, Sandefjord centre and Stranda: all far off
    assert plan.set_index("name").loc["Mortensrud politipost"].geometry.distance(refs["Mortensrud politipost"][0]) < 500


def test_offices_become_plan_sites_with_their_stand_in_flag(kommuner):
    # synthetic office rows (tests only): one in the baseline, two opened later, one at a stand-in
    rows = gpd.GeoDataFrame({
        "station_id": ["a", "b", "c"], "office_id": ["old-office", "new-office", "summer-office"],
        "office": ["Old office", "New office", "Summer office"], "name": ["Old office", "New office", "Summer office (summer)"],
        "type": ["politistasjon", "tjenestested", "tjenestested"], "kommunenummer": ["0301", "3011", "1525"],
        "open_from": ["", "2023-06-13", "2023"], "stand_in": [False, True, False],
    }, geometry=gpd.points_from_xy([262000, 290000, 95000], [6650000, 6550000, 6900000]), crs=25833)  # fmt: skip
    from siting.candidates import plan_sites_from_offices

    later = plan_sites_from_offices(rows.iloc[1:])
    assert list(later["name"]) == ["New office", "Summer office"] and list(later["stand_in"]) == [True, False]
    cand = build_candidates(kommuner, load_places(), rows.iloc[:1], sources=["geonames"], plan_sites=later)
    plan = cand[cand.source == "office opened later"]
    assert plan.set_index("name")["stand_in"].to_dict() == {"New office": True, "Summer office": False}
    assert set(cand.loc[~cand.source.eq("office opened later"), "stand_in"]) == {False}
    j = pick_site("Summer office (summer)", cand, kommuner, "sites")
    assert cand.loc[j, "name"] == "Summer office" and pick_site("summer-office", cand, kommuner, "sites") == j


def test_run_with_a_point_outside_norway_is_one_line_exit_2(tmp_path, capsys):
    from siting.cli import main

    pts = _csv(tmp_path, "name,lon,lat\nParis,2.3522,48.8566\n")
    sc = _scenario(tmp_path, "paris", candidates={"extra_points": str(pts)})
    assert main(["run", str(sc), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("siting: error:") and "\n" not in err and "Paris" in err and "Norway's land area" in err
    assert not (tmp_path / "run").exists()


def test_airport_candidates_sit_at_the_airport():
    """The 28 N1000 airports are at the aerodrome reference point, not at the map label (1-7 km off)."""
    airportsdata = pytest.importorskip("airportsdata")
    import pandas as pd
    from pyproj import Transformer

    b = load_bundled_candidates()
    air = b[b["type"] == "flyplass"]
    icao = pd.read_csv(Path(__file__).resolve().parents[1] / "scripts" / "sources" / "airports_icao.csv")
    assert len(air) == 28 and set(air["name"]) == set(icao["n1000_name"])
    table = airportsdata.load("ICAO")
    to_utm = Transformer.from_crs(4326, 25833, always_xy=True)
    far = {}
    for name, code in zip(icao["n1000_name"], icao["icao"], strict=True):
        x, y = to_utm.transform(table[code]["lon"], table[code]["lat"])
        p = air[air["name"] == name].geometry.iloc[0]
        if np.hypot(p.x - x, p.y - y) > 1000:
            far[name] = round(np.hypot(p.x - x, p.y - y))
    assert not far, f"airport candidates more than 1 km from the aerodrome: {far}"
