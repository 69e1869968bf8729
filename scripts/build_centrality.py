"""Rebuild ``data/kommuner/sentralitet_2020.csv``: SSB's centrality index 2020 (NLOD, Statistisk sentralbyrå).

Index values (0–1000): SSB "Sentralitetsindeksen. Oppdatering med 2020-kommuner" (Notater 2020/4,
E. Høydahl, 27 Feb 2020), the per-municipality table published with it on ssb.no. The copy used is
the one in the public dataset "Covid-19 samfunnsvitenskapelig datasett – kommunenivå" (UiT,
doi:10.18710/NMKI2B; repository oysteinsolvang/covidnorge, commit 6dd931c7, ``covidnorge.csv``,
column ``sentralitetsindeks``, downloaded from ssb.no on 2020-06-16), trimmed to
``scripts/sources/sentralitetsindeks_2020.csv`` (``kommunenummer, kommunenavn, sentralitetsindeks``;
two Sami letters in that copy's names are lost as ``?``; the bundle takes names from ``kommuner.gpkg``).

Classes 1–6: SSB classification 128 ("Klassifisering av kommuner etter sentralitet"), version 2020.
Without ``--klass`` they are computed from the index with SSB's published intervals
(``siting.data.centrality.CLASS_INTERVALS``). With ``--klass`` they are read from SSB's KLASS
correspondence between classification 131 (kommuner) and 128 on 2020-01-01 — a saved JSON answer
or the URL itself (:data:`KLASS_URL`, needs internet) — and must agree with the intervals.

Checks: exactly the municipality numbers of ``kommuner.gpkg``, integer index 0–1000, Oslo 1000.

Usage::

    python scripts/build_centrality.py [--src FILE.csv] [--klass FILE.json|URL] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from pathlib import Path

import pandas as pd

from siting.data import load_kommuner_geometry
from siting.data.centrality import centrality_class
from siting.io import atomic_path
from siting.paths import DATA_DIR, REPO_DIR

SRC = REPO_DIR / "scripts" / "sources" / "sentralitetsindeks_2020.csv"
OUT = DATA_DIR / "kommuner" / "sentralitet_2020.csv"
#: SSB KLASS: municipality (131) → centrality class (128) on 1 January 2020.
KLASS_URL = ("https://data.ssb.no/api/klass/v1/classifications/131/correspondsAt"
             "?targetClassificationId=128&date=2020-01-01")  # fmt: skip


def read_index(src: Path) -> pd.DataFrame:
    """``kommunenummer`` and ``centrality_index`` from a CSV with a number and an ``*indeks*`` column."""
    df = pd.read_csv(src, dtype=str, sep=None, engine="python")
    number = next((c for c in df.columns if c.strip().lower() in ("kommunenummer", "knr", "kommunenr")), None)
    index = next((c for c in df.columns if "indeks" in c.lower()), None)
    if number is None or index is None:
        raise SystemExit(f"{src}: need a kommunenummer/knr column and a *indeks* column, got {list(df.columns)}")
    out = pd.DataFrame({"kommunenummer": df[number].str.strip().str.zfill(4),
                        "centrality_index": pd.to_numeric(df[index].str.strip(), errors="raise")})  # fmt: skip
    if (out.centrality_index % 1 != 0).any() or not out.centrality_index.between(0, 1000).all():
        raise SystemExit(f"{src}: the index must be an integer 0-1000")
    return out.astype({"centrality_index": int})


def read_klass(source: str) -> pd.Series:
    """Class per kommunenummer from a KLASS correspondence answer (JSON file or URL)."""
    if source.startswith(("http://", "https://")):
        req = urllib.request.Request(source, headers={"Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 (a URL the user gave)
            payload = json.load(r)
    else:
        payload = json.loads(Path(source).read_text(encoding="utf-8"))
    items = pd.DataFrame(payload.get("correspondenceItems", []))
    if items.empty or not {"sourceCode", "targetCode"} <= set(items.columns):
        raise SystemExit(f"{source}: no correspondenceItems with sourceCode/targetCode")
    items = items.drop_duplicates(["sourceCode", "targetCode"])
    if items.sourceCode.duplicated().any():
        raise SystemExit(f"{source}: municipality {items.sourceCode[items.sourceCode.duplicated()].iloc[0]} has two classes")
    return pd.Series(items.targetCode.astype(int).to_numpy(), index=items.sourceCode.str.zfill(4), name="klass")


def build(src: Path, klass: str | None = None) -> pd.DataFrame:
    kommuner = load_kommuner_geometry()[["kommunenummer", "name"]]
    df = read_index(src)
    other = sorted(set(df.kommunenummer) ^ set(kommuner.kommunenummer))
    if other or df.kommunenummer.duplicated().any():
        raise SystemExit(f"{src}: municipality numbers differ from kommuner.gpkg: {other[:5]} (or a number twice)")
    if int(df.set_index("kommunenummer").loc["0301", "centrality_index"]) != 1000:
        raise SystemExit(f"{src}: Oslo (0301) must have index 1000")
    df["centrality_class"] = centrality_class(df.centrality_index)
    if klass is not None:
        k = read_klass(klass).reindex(df.kommunenummer)
        if k.isna().any():
            raise SystemExit(f"{klass}: no class for {list(k.index[k.isna()][:5])}")
        off = df[df.centrality_class.to_numpy() != k.to_numpy()]
        if len(off):
            raise SystemExit(f"{klass}: KLASS class differs from SSB's intervals for {off.kommunenummer.tolist()[:5]}")
        df["centrality_class"] = k.to_numpy()
    out = kommuner.merge(df, on="kommunenummer", validate="1:1")
    return out.sort_values("kommunenummer").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=SRC, help="CSV with kommunenummer and sentralitetsindeks")
    parser.add_argument("--klass", help=f"KLASS 131→128 correspondence, JSON file or URL (e.g. {KLASS_URL})")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    out = build(args.src, args.klass)
    with atomic_path(args.out) as tmp:
        out.to_csv(tmp, index=False)
    counts = out.centrality_class.value_counts().sort_index()
    print(f"wrote {args.out}: {len(out)} municipalities; per class " + ", ".join(f"{c}: {n}" for c, n in counts.items()))


if __name__ == "__main__":
    main()
