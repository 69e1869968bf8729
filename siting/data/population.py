"""Municipality population: SSB (Statistics Norway) table 07459, 1 January 2022.

:func:`load_population` resolves the table as the named input ``population`` (see
:mod:`siting.inputs`): a path given in the scenario or as ``path`` > the table fetched by
``siting data fetch population`` into the cache (``<cache>/population/ssb_07459_<year>.csv``) >
the bundled copy ``data/population/ssb_07459_2022.csv`` (rebuilt by ``scripts/build_population.py``).

The figures are never estimated: without one of these sources the loader stops with a message
that says how to fetch the table.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from siting.errors import DataError, SitingError
from siting.inputs import resolve
from siting.io import atomic_path
from siting.paths import cache_dir

from .validate import read_table, require_columns, require_unique

log = logging.getLogger(__name__)

#: SSB's PxWeb API (StatBank) base URL; table 07459 = population by region, sex, age.
SSB_API = "https://data.ssb.no/api/v0/no/table/07459/"
#: National total on 1 January 2022 (SSB).
NATIONAL_TOTAL_2022 = 5_425_270
FIX = "run `siting data fetch population` (needs internet) or pass the SSB 07459 CSV with --population"


def cached_population_path(year: int = 2022) -> Path:
    return cache_dir() / "population" / f"ssb_07459_{year}.csv"


def resolve_population_path(path: str | Path | None = None, year: int = 2022) -> Path:
    """Return the first available population table (see module docstring)."""
    if year == 2022:
        return resolve("population", path).path
    cached = cached_population_path(year)
    if path is None and not cached.exists():
        raise DataError(f"no SSB 07459 population table for {year}; {FIX}", path=cached)
    return Path(path) if path is not None else cached


def load_population(path: str | Path | None = None, year: int = 2022) -> pd.DataFrame:
    """Load municipality population (columns ``kommunenummer``, ``population_<year>``).

    Accepts the CSV written by :func:`fetch_population` (``kommunenummer,name,population``) and
    the same with a ``population_<year>`` column.
    """
    p = resolve_population_path(path, year)
    df = read_table(p, "population table", FIX, dtype={"kommunenummer": str})
    col = f"population_{year}" if f"population_{year}" in df.columns else "population"
    require_columns(df, ["kommunenummer", col], p)
    df["kommunenummer"] = df["kommunenummer"].str.zfill(4)
    require_unique(df, "kommunenummer", p)
    if df[col].isna().any() or (df[col] < 0).any():
        raise DataError(f"empty or negative {col}; re-fetch the table", path=p, field=col)
    out = df[["kommunenummer", col]].rename(columns={col: f"population_{year}"})
    out[f"population_{year}"] = out[f"population_{year}"].astype("int64")
    out.attrs["source"] = str(p)
    return out


def pxweb_query(year: int) -> dict:
    """The PxWeb JSON query for table 07459: all regions; sex and age are left out, so SSB sums them."""
    return {
        "query": [
            {"code": "Region", "selection": {"filter": "all", "values": ["*"]}},
            {"code": "ContentsCode", "selection": {"filter": "item", "values": ["Personer1"]}},
            {"code": "Tid", "selection": {"filter": "item", "values": [str(year)]}},
        ],
        "response": {"format": "json-stat2"},
    }


def parse_jsonstat(payload: dict) -> pd.DataFrame:
    """Turn SSB's JSON-stat2 answer (dimension Region × Tid) into kommunenummer, name, population."""
    try:
        region = payload["dimension"]["Region"]["category"]
        index = region["index"]
        labels = region["label"]
        values = payload["value"]
        sizes = payload["size"]
    except (KeyError, TypeError) as exc:
        raise SitingError(f"unexpected JSON-stat answer from SSB (missing {exc}); the API may have changed") from None
    # Region is the first dimension; others have size 1 (one content code, one year).
    stride = 1
    for s in sizes[1:]:
        stride *= s
    if stride != 1:
        raise SitingError("unexpected JSON-stat answer: more than one year or content code")
    order = sorted(index.items(), key=lambda kv: kv[1])
    rows = []
    for code, i in order:
        knr = code.removeprefix("K-")
        if len(knr) != 4 or not knr.isdigit() or not values[i]:
            continue  # counties, the country, and codes not in use that year (no value or 0)
        name = labels[code]
        name = name.split(" ", 1)[1] if name[:4].isdigit() else name
        rows.append({"kommunenummer": knr, "name": name, "population": int(values[i])})
    if not rows:
        raise SitingError("SSB answered without municipality figures; check --year")
    return pd.DataFrame(rows)


def fetch_population(
    year: int = 2022, base_url: str | None = None, out: str | Path | None = None, timeout: float = 60
) -> Path:
    """Download SSB table 07459 for ``year`` (1 January), summed over sex and age, and save it as CSV.

    Parameters
    ----------
    year : int
        Statistics year (population on 1 January).
    base_url : str, optional
        PxWeb table URL; defaults to :data:`SSB_API`.
    out : path, optional
        Output CSV; defaults to the cache path used by :func:`load_population`.

    Returns
    -------
    pathlib.Path
        The written CSV (``kommunenummer,name,population``).
    """
    url = base_url or SSB_API
    body = json.dumps(pxweb_query(year)).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.load(resp)
    except urllib.error.HTTPError as exc:
        raise SitingError(f"SSB API refused the query ({exc.code} {exc.reason}) at {url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SitingError(f"cannot reach SSB at {url} ({exc}); check the internet connection") from None
    except json.JSONDecodeError:
        raise SitingError(f"SSB at {url} did not answer JSON; check --base-url") from None
    df = parse_jsonstat(payload)
    target = Path(out) if out else cached_population_path(year)
    with atomic_path(target) as tmp:
        df.to_csv(tmp, index=False)
    log.info("wrote %s: %d municipalities, %s people", target, len(df), f"{df.population.sum():,}")
    return target
