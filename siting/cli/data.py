"""``siting data info`` and ``siting data fetch population|roads``."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("data", help="bundled data: info, fetch official data")
    s = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    i = s.add_parser("info", help="every input and where it comes from; counts, population, offices per district")
    i.add_argument("scenario", nargs="?", type=Path, help="also apply this scenario's input paths (origin 'scenario')")
    i.add_argument("--as-of", default="2022-01-01", help="office structure on this date (YYYY-MM-DD; default 2022-01-01)")
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


def inputs_table():
    """Every named input and where it comes from here (with a scenario's paths inside its session)."""
    from rich.table import Table

    from siting.inputs import status
    from siting.paths import REPO_DIR

    def short(p):
        return str(p.relative_to(REPO_DIR)) if p.is_relative_to(REPO_DIR) else str(p)

    t = Table("Input", "Origin", "Path", "Source", title="Inputs (order: scenario > cache > bundle)")
    for spec, found in status():
        if found is None:
            how = f"`{spec.fetch}`" if spec.fetch else "restore data/ (`git checkout data/`)"
            t.add_row(spec.name, "[red]missing[/]", "—", f"{spec.description}; {how}")
        else:
            t.add_row(spec.name, found.origin, short(found.path), spec.description)
    return t


def overview(k, st) -> list[str]:
    """Headline counts: municipalities, population, offices, places."""
    from siting.data import load_places
    from siting.data.stations import count_offices

    return [
        f"[bold]Municipalities[/]: {len(k)} (2020–2023 structure), population 1 Jan 2022: {k.population_2022.sum():,}"
        f" (SSB 07459, from {k.attrs.get('population_source')})",
        f"[bold]Police offices[/]: {count_offices(st)} on {st.attrs['as_of']} at {len(st)} locations (--as-of for another date)",
        f"[bold]Places[/]: {len(load_places())} GeoNames places with ≥ 500 inhabitants",
    ]


def districts_table(k, st):
    """Per police district: municipalities, population, offices."""
    from rich.table import Table

    from siting.data.stations import count_offices

    t = Table("Police district", "Municipalities", "Population", "Offices")
    for d, g in k.groupby("politidistrikt"):
        t.add_row(d, str(len(g)), f"{g.population_2022.sum():,}", str(st[st.politidistrikt == d].office_id.nunique()))
    t.add_row("Norway", str(len(k)), f"{k.population_2022.sum():,}", str(count_offices(st)), style="bold")
    return t


def offices(k, st) -> list[str]:
    """National office count on the date (per district: the table above), unverified and stand-in offices."""
    from rich.markup import escape

    from siting.data.stations import format_office_summary

    return [escape(line) for line in format_office_summary(st, districts=False).splitlines()]


#: ``siting data info`` prints these in order; each takes (kommuner, stations) and returns a rich
#: renderable or a list of lines. Add a section by appending a function.
INFO_SECTIONS = [overview, districts_table, offices]


def info(args) -> int:
    from rich.console import Console

    from siting.data import load_kommuner, load_stations
    from siting.inputs import session

    overrides = {}
    if getattr(args, "scenario", None) is not None:
        from siting.scenario import load_scenario

        overrides = load_scenario(args.scenario).input_paths()
    c = Console()
    with session(overrides):
        c.print(inputs_table())
        k = load_kommuner()
        st = load_stations(as_of=args.as_of)
        for section in INFO_SECTIONS:
            out = section(k, st)
            for item in out if isinstance(out, list) else [out]:
                c.print(item)
    c.print("Publishers, editions, licences and rebuild scripts: data/SOURCES.md")
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
