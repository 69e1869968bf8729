"""``siting data info`` and ``siting data fetch population|roads``."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("data", help="bundled data: info, fetch official data")
    s = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    i = s.add_parser("info", help="counts, population, offices per district, sources")
    i.set_defaults(func=info)
    f = s.add_parser("fetch", help="download official data (needs internet)")
    fs = f.add_subparsers(dest="what", metavar="DATASET", required=True)
    pop = fs.add_parser("population", help="SSB table 07459 (population by municipality, 1 January)")
    pop.add_argument("--year", type=int, default=2022)
    pop.add_argument("--base-url", help="PxWeb table URL (default SSB's)")
    pop.add_argument("--out", type=Path)
    pop.set_defaults(func=fetch_pop)
    roads = fs.add_parser("roads", help="Kartverket N1000 road links (Geonorge)")
    roads.add_argument("--base-url", help="download URL of the N1000 Samferdsel zip (default Geonorge)")
    roads.add_argument("--out", type=Path, help="folder (default the cache)")
    roads.set_defaults(func=fetch_roads)


def info(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from siting.data import load_kommuner, load_places, load_stations
    from siting.paths import DATA_DIR

    k = load_kommuner()
    st = load_stations()
    allst = load_stations(as_of=None)
    pl = load_places()
    c = Console()
    c.print(f"[bold]Municipalities[/]: {len(k)} (2020–2023 structure), population 1 Jan 2022: {k.population_2022.sum():,}"
            f" (SSB 07459, from {k.attrs.get('population_source')})")  # fmt: skip
    c.print(f"[bold]Police offices[/]: {len(st)} in the early-2022 baseline ({len(allst)} incl. offices opened later)")
    c.print(f"[bold]Places[/]: {len(pl)} GeoNames places with ≥ 500 inhabitants")
    t = Table("Police district", "Municipalities", "Population", "Offices")
    for d, g in k.groupby("politidistrikt"):
        t.add_row(d, str(len(g)), f"{g.population_2022.sum():,}", str(int((st.politidistrikt == d).sum())))
    c.print(t)
    c.print("[bold]Sources[/] (data/SOURCES.md):")
    for line in (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [x.strip() for x in line.strip("|").split("|")]
            c.print(f"  {cells[0]}: {cells[1]} — {cells[2]}")
    return 0


def fetch_pop(args) -> int:
    from siting.data.population import fetch_population

    out = fetch_population(args.year, base_url=args.base_url, out=args.out)
    print(f"wrote {out}")
    return 0


def fetch_roads(args) -> int:
    from siting.network.fetch import fetch_roads as fetch

    out = fetch(base_url=args.base_url, out_dir=args.out)
    print(f"wrote {out}")
    return 0
