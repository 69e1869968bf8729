"""Download Kartverket's national road links (N1000 Samferdsel, Geonorge) for users with internet."""

from __future__ import annotations

import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pyogrio

from siting.errors import SitingError
from siting.io import atomic_path
from siting.paths import cache_dir

log = logging.getLogger(__name__)

#: Geonorge download of N1000 Samferdsel (GML, EPSG:25833) — overridable with --base-url.
GEONORGE_N1000_SAMFERDSEL = (
    "https://nedlasting.geonorge.no/geonorge/Basisdata/N1000Samferdsel/GML/"
    "Basisdata_0000_Norge_25833_N1000Samferdsel_GML.zip"
)


def fetch_roads(base_url: str | None = None, out_dir: Path | None = None, quiet: bool = False) -> Path:
    """Download N1000 Samferdsel and write its road links (``Veglenke``) as a GeoPackage.

    Returns the GeoPackage path (``<cache>/roads/Veglenke.gpkg`` by default), which
    :func:`siting.network.load_network` then uses as the national network.
    """
    url = base_url or GEONORGE_N1000_SAMFERDSEL
    out = (Path(out_dir) if out_dir else cache_dir() / "roads") / "Veglenke.gpkg"
    with tempfile.TemporaryDirectory() as tmp:
        zpath = Path(tmp) / "download.zip"
        try:
            with urllib.request.urlopen(url, timeout=120) as resp, open(zpath, "wb") as fh:
                shutil.copyfileobj(resp, fh)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SitingError(f"cannot download road links from {url} ({exc}); check the connection or --base-url") from None
        try:
            with zipfile.ZipFile(zpath) as zf:
                members = [m for m in zf.namelist() if m.lower().endswith((".gml", ".gpkg"))]
                if not members:
                    raise SitingError(f"{url}: the zip holds no GML or GeoPackage")
                zf.extract(members[0], tmp)
                src = Path(tmp) / members[0]
        except zipfile.BadZipFile:
            raise SitingError(f"{url}: not a zip file; check --base-url") from None
        layers = [name for name, _ in pyogrio.list_layers(src)]
        layer = next((x for x in layers if x.lower() == "veglenke"), None)
        if layer is None:
            raise SitingError(f"{url}: no Veglenke layer (found {', '.join(layers)})")
        gdf = pyogrio.read_dataframe(src, layer=layer)
        with atomic_path(out) as tmpgpkg:
            gdf.to_file(tmpgpkg, layer="Veglenke", driver="GPKG")
    log.info("wrote %s (%d road links)", out, len(gdf))
    return out
