"""Police offices: the structure of 1 January 2022, offices opened later, validation, data info."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from siting.cli import main
from siting.data import POLICE_DISTRICTS, load_kommuner_geometry, load_stations
from siting.data.stations import STATIONS_PATH, count_offices, office_summary, offices_opened, open_on
from siting.errors import DataError

#: Offices on 1 January 2022 in data/stations (see data/SOURCES.md for the reconciliation).
OFFICES_2022 = 220
NEW_2022_2024 = ["Magnormoen", "Engerdal", "Meråker", "Mortensrud", "Hvaler", "Salangen", "Torp", "Sigdal",
                 "Steigen", "Geiranger", "Sørumsand", "Rakkestad", "Karlsøy", "Kvinesdal", "Levanger",
                 "Nesodden", "Sør-Odal", "Vaksdal", "Åseral", "Hemsedal"]  # fmt: skip


@pytest.fixture(scope="module")
def st2022():
    return load_stations()


@pytest.fixture(scope="module")
def every():
    return load_stations(as_of=None)


def _has(st, pattern: str) -> bool:
    return bool(st.office.str.contains(pattern, case=False).any())


def test_national_count_on_1_january_2022(st2022):
    assert st2022.attrs["as_of"] == dt.date(2022, 1, 1)
    assert count_offices(st2022) == OFFICES_2022
    assert len(st2022) == OFFICES_2022 + 2  # Grane/Hattfjelldal and Kviteseid/Seljord have two locations
    by = st2022.groupby("politidistrikt").office_id.nunique()
    # districts whose published lists matched in full (reconciliation-2022.md)
    assert by["Oslo"] == 8 and by["Nordland"] == 24 and by["Innlandet"] == 20
    assert by["Troms"] == 10 and by["Finnmark"] == 17
    assert by["Agder"] == 15 and by["Trøndelag"] == 20 and by["Møre og Romsdal"] == 17


def test_named_offices_present_and_absent(st2022):
    for name in ("Kristiansand politistasjon", "Karasjok", "Hamnvik", "Hitra", "Bjørnafjorden", "Heimdal"):
        assert _has(st2022, name), name
    for name in (
        "Stranda",
        "Nyrud",
        "Trondheim sør",
        "Hovden",
        "publikumssenter",
        "Magnormoen",
        "Salangen",
        "Mortensrud",
    ):
        assert not _has(st2022, name), name
    assert st2022.name.str.contains("Rauma").sum() == 1 and st2022.name.str.contains("Lørenskog").sum() == 1
    assert st2022.set_index("office").loc["Karasjok lensmannskontor", "kommunenummer"] == "5437"


def test_two_location_offices_count_once_and_keep_both_points(st2022):
    for office in ("Grane og Hattfjelldal lensmannskontor", "Kviteseid og Seljord lensmannskontor"):
        rows = st2022[st2022.office == office]
        assert len(rows) == 2 and rows.office_id.nunique() == 1
        assert rows.geometry.iloc[0].distance(rows.geometry.iloc[1]) > 10_000
        assert count_offices(rows) == 1


def test_2025_filter_adds_the_20_new_offices(st2022):
    st2025 = load_stations(as_of="2025-01-01")
    assert count_offices(st2025) == OFFICES_2022 + 20
    new = st2025[~st2025.office_id.isin(st2022.office_id)]
    assert len(new) == 20
    for place in NEW_2022_2024:
        assert new.office.str.contains(place).sum() == 1, place
    assert (new.open_from != "").all()
    # offices are placed at their real locality, or flagged as stand-ins
    real = new[~new.stand_in].office
    for place in ("Magnormoen", "Torp", "Geiranger", "Sørumsand", "Salangen", "Nesodden"):
        assert real.str.contains(place).any(), place


def test_offices_opened_2022_2024_at_their_localities():
    new = offices_opened()
    assert len(new) == 20 and count_offices(new) == 20
    ll = new.to_crs(4326).set_index("office")
    # within 3 km of the published locality coordinates (Wikipedia/AIP; see data/SOURCES.md)
    for office, (lat, lon) in {"Mortensrud politipost": (59.8486, 10.8311),
                               "Sandefjord lufthavn Torp tjenestested": (59.1867, 10.2586),
                               "Geiranger tjenestested": (62.1019, 7.2072)}.items():  # fmt: skip
        p = ll.loc[office].geometry
        assert abs(p.y - lat) * 111 < 3 and abs(p.x - lon) * 111 * np.cos(np.radians(lat)) < 3, office
    magnormoen = new.set_index("office").loc["Magnormoen politistasjon"]
    assert magnormoen.kommunenummer == "3416" and not magnormoen.stand_in  # Eidskog, at the border crossing


def test_dates_not_only_years():
    assert not _has(load_stations(as_of="2022-06-20"), "Magnormoen")
    assert _has(load_stations(as_of=dt.date(2022, 6, 21)), "Magnormoen")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 2024 offices known only to the year
        assert not _has(load_stations(as_of="2024-03-06"), "Mortensrud")
        assert _has(load_stations(as_of="2024-03-07"), "Mortensrud")
    assert count_offices(load_stations(as_of=2022)) == OFFICES_2022  # a year means 1 January
    with pytest.warns(UserWarning, match="known only to the month or year"):
        mid = load_stations(as_of="2023-06-01")  # offices known to open "in 2023": ambiguous
    assert not _has(mid, "Engerdal")


def test_open_on_day_month_year_precision():
    df = pd.DataFrame({"station_id": ["a", "b", "c", "d"], "open_from": ["", "2023-05-17", "2023-05", "2023"],
                       "closed_from": ["2023-06-01", "", "", ""]})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert open_on(df, "2023-05-31").tolist() == [True, True, False, False]
        assert open_on(df, "2023-06-01").tolist() == [False, True, True, False]
        assert open_on(df, "2024-01-01").tolist() == [False, True, True, True]


def test_no_two_distinct_offices_within_300_m(every):
    xy = np.column_stack([every.geometry.x, every.geometry.y])
    pairs = cKDTree(xy).query_pairs(300)
    assert all(every.office_id.iloc[i] == every.office_id.iloc[j] for i, j in pairs)


def test_every_row_sourced_and_flagged(every):
    assert every.station_id.is_unique
    assert set(every.politidistrikt) <= set(POLICE_DISTRICTS)
    assert every.source.str.startswith("http").all()
    assert set(every.confidence) == {"verified", "unverified"}
    assert (every.location_source != "").all()
    assert (every[every.stand_in].location_quality == "locality").all()
    k = load_kommuner_geometry().set_index("kommunenummer")
    dist = [k.loc[s.kommunenummer, "geometry"].distance(s.geometry) for s in every.itertuples()]
    assert max(dist) < 2000  # coastal tolerance for the generalised polygons


def test_office_summary_lists_unverified_rows():
    s = office_summary(load_stations(as_of="2022-01-01"))
    assert s["total"] == OFFICES_2022 == s["by_district"].sum()
    assert "Bergen lufthamn Flesland politistasjon" in set(s["unverified"].office)
    assert "Sokndal lensmannskontor" in set(s["unverified"].office)
    assert "Karasjok lensmannskontor" not in set(s["unverified"].office)


def test_ardal_and_aurland_won_their_2017_appeals():
    s = load_stations(as_of="2022-01-01").set_index("office")
    for office in ("Årdal lensmannskontor", "Aurland lensmannskontor"):
        row = s.loc[office]
        assert row.confidence == "verified" and "appeal" in row.note and "nrk.no" in row.source


def test_offices_without_a_district_list_cite_their_own_page():
    """Sør-Vest, Sør-Øst and Øst have no complete final list: a verified office cites a page naming it."""
    s = load_stations(as_of="2022-01-01")
    lists = pd.read_csv(Path(__file__).resolve().parents[1] / "scripts" / "sources" / "district_lists_2017.csv").set_index("politidistrikt")
    three = s[s.politidistrikt.isin(["Sør-Vest", "Sør-Øst", "Øst"])]
    own = three.source != three.politidistrikt.map(lists.source)
    assert own.sum() >= 45
    verified = three[three.confidence == "verified"]
    assert len(verified) >= 30 and verified.note.fillna("").str.len().gt(0).all()  # each says what its page states


def test_two_offices_at_one_place_rejected(tmp_path):
    df = pd.read_csv(STATIONS_PATH, dtype=str)
    twin = df.iloc[[0]].assign(station_id="twin", office_id="another-office")
    pd.concat([df, twin]).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match="m apart"):
        load_stations(tmp_path / "s.csv")


def test_duplicate_station_ids_and_bad_dates_rejected(tmp_path):
    df = pd.read_csv(STATIONS_PATH, dtype=str)
    pd.concat([df, df.head(1)]).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match="duplicate station_id"):
        load_stations(tmp_path / "s.csv")
    df.loc[0, "open_from"] = "1 May 2023"
    df.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="open_from"):
        load_stations(tmp_path / "d.csv")


def test_minimal_user_file_without_dates(tmp_path):
    df = pd.read_csv(STATIONS_PATH, dtype=str)
    df = df[df.open_from.isna()].drop(
        columns=["office_id", "open_from", "closed_from", "stand_in", "note", "office"]
    )
    with pytest.raises(DataError, match="office_id"):
        load_stations(_write(df, tmp_path))
    df["office_id"] = df.station_id
    st = load_stations(_write(df, tmp_path), as_of=None)
    assert count_offices(st) == len(df)


def _write(df, tmp_path):
    p = tmp_path / "u.csv"
    df.to_csv(p, index=False)
    return p


@pytest.mark.shared
def test_build_script_reproduces_the_bundled_file(shared_data):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "build_stations", Path(__file__).parents[1] / "scripts" / "build_stations.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    built = mod.build(
        shared_data / "stations" / "osm_police_norway_2026.geojson",
        shared_data / "n1000" / "StedsnavnTekst.gpkg",
    )
    bundled = pd.read_csv(STATIONS_PATH, dtype=str).fillna("")
    built = built.astype(str).replace({"nan": "", "<NA>": ""})
    pd.testing.assert_frame_equal(built.reset_index(drop=True), bundled, check_dtype=False)


def test_data_info_prints_count_date_and_unverified(capsys):
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "Police offices on 01 January 2022: 220" in out
    assert "Unverified offices" in out and "Sokndal lensmannskontor" in out
    assert main(["data", "info", "--as-of", "2025-01-01"]) == 0
    assert "Police offices on 01 January 2025: 240" in capsys.readouterr().out
