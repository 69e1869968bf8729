"""Downloads of official data, tested against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from siting.cli import main
from siting.data.population import fetch_population, load_population


def _serve(body: bytes, content_type: str):
    received = {}

    class Handler(BaseHTTPRequestHandler):
        def _send(self):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802
            received["query"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._send()

        def do_GET(self):  # noqa: N802
            self._send()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/", received


@pytest.fixture
def synthetic_jsonstat():
    """A synthetic JSON-stat2 answer shaped like SSB's (3 regions, one of them a county)."""
    return {
        "class": "dataset", "id": ["Region", "ContentsCode", "Tid"], "size": [4, 1, 1],
        "dimension": {
            "Region": {"category": {"index": {"0301": 0, "3001": 1, "30": 2, "1901": 3},
                                    "label": {"0301": "Oslo", "3001": "Halden", "30": "Viken", "1901": "Harstad (-2019)"}}},
            "ContentsCode": {"category": {"index": {"Personer1": 0}}}, "Tid": {"category": {"index": {"2022": 0}}},
        },
        "value": [100, 20, 999, None],
    }  # fmt: skip


def test_fetch_population_from_local_server(tmp_path, synthetic_jsonstat):
    srv, url, received = _serve(json.dumps(synthetic_jsonstat).encode(), "application/json")
    try:
        out = fetch_population(2022, base_url=url, out=tmp_path / "pop.csv")
    finally:
        srv.shutdown()
    df = pd.read_csv(out, dtype={"kommunenummer": str})
    assert df.to_dict("list") == {"kommunenummer": ["0301", "3001"], "name": ["Oslo", "Halden"], "population": [100, 20]}
    assert received["query"]["query"][2]["selection"]["values"] == ["2022"]
    assert load_population(out).population_2022.sum() == 120


def test_fetch_population_bad_answer_is_one_line(tmp_path, capsys):
    srv, url, _ = _serve(b"<html>not json</html>", "text/html")
    try:
        code = main(["data", "fetch", "population", "--base-url", url, "--out", str(tmp_path / "p.csv")])
    finally:
        srv.shutdown()
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("siting: error:") and "\n" not in err
    assert not (tmp_path / "p.csv").exists()


def test_fetch_roads_from_local_server(tmp_path, capsys):
    """A synthetic two-link road layer, zipped like Geonorge's download."""
    import geopandas as gpd
    from shapely.geometry import LineString

    g = gpd.GeoDataFrame({"typeVeg": ["enkelBilveg", "bilferje"], "vegkategori": ["E", "E"], "motorvegtype": [None, None],
                          "medium": ["T", None]},
                         geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (3000, 0)])], crs=25833)  # fmt: skip
    src = tmp_path / "synthetic_n1000.gpkg"
    g.to_file(src, layer="Veglenke", driver="GPKG")
    z = tmp_path / "synthetic.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src, "Basisdata_N1000Samferdsel.gpkg")
    srv, url, _ = _serve(z.read_bytes(), "application/zip")
    try:
        assert main(["data", "fetch", "roads", "--base-url", url, "--out", str(tmp_path / "roads")]) == 0
    finally:
        srv.shutdown()
    got = gpd.read_file(tmp_path / "roads" / "Veglenke.gpkg")
    assert len(got) == 2 and set(got.typeVeg) == {"enkelBilveg", "bilferje"}
