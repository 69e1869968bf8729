"""The bundled national data layer: municipalities, population, places, police offices."""

from __future__ import annotations

import geopandas as gpd
import pytest

from siting.cli import main
from siting.data import POLICE_DISTRICTS, load_kommuner, load_kommuner_geometry, load_places, load_stations
from siting.data.population import NATIONAL_TOTAL_2022
from siting.errors import DataError


@pytest.fixture(scope="module")
def kommuner():
    return load_kommuner()


def test_356_municipalities_with_unique_numbers_and_valid_polygons():
    k = load_kommuner_geometry()
    assert len(k) == 356
    assert k.kommunenummer.is_unique and k.kommunenummer.str.fullmatch(r"\d{4}").all()
    assert k.crs.to_epsg() == 25833
    assert k.is_valid.all()


def test_every_municipality_has_one_of_the_12_police_districts():
    k = load_kommuner_geometry()
    assert set(k.politidistrikt) == set(POLICE_DISTRICTS)
    assert len(POLICE_DISTRICTS) == 12
    by = dict(zip(k.kommunenummer, k.politidistrikt, strict=True))
    # exceptions to the county rule, from the 2015 reform and the 2019 adjustment
    assert by["3024"] == "Oslo" and by["3025"] == "Oslo"  # Bærum, Asker
    assert by["4228"] == "Sør-Vest" and by["4614"] == "Sør-Vest"  # Sirdal, Stord
    assert by["1811"] == "Trøndelag" and by["5412"] == "Troms"  # Bindal, Tjeldsund
    assert by["5444"] == "Finnmark" and by["3005"] == "Sør-Øst"  # Sør-Varanger, Drammen


def test_population_total_equals_ssb(kommuner):
    assert kommuner.population_2022.sum() == NATIONAL_TOTAL_2022 == 5_425_270
    assert kommuner.set_index("kommunenummer").loc["0301", "population_2022"] == 699_827


def test_places_lie_in_their_municipality():
    places = load_places()
    assert len(places) == 624
    k = load_kommuner_geometry()
    j = gpd.sjoin_nearest(places, k[["kommunenummer", "geometry"]], how="left", max_distance=3000)
    assert (j.kommunenummer_left == j.kommunenummer_right).mean() > 0.99


def test_corrupted_files_give_one_clear_line(tmp_path):
    bad = tmp_path / "stations.csv"
    bad.write_text("station_id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        load_stations(bad)
    broken = tmp_path / "kommuner.gpkg"
    broken.write_bytes(b"not a geopackage")
    with pytest.raises(DataError, match="cannot read municipality file"):
        load_kommuner_geometry(broken)
    with pytest.raises(DataError, match="not found"):
        load_places(tmp_path / "missing.csv")


def test_data_info_cli(capsys):
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "356" in out and "5,425,270" in out and "Police offices" in out
