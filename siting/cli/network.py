"""``siting network build``, ``siting network info`` and ``siting network check``."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("network", help="build and inspect road networks")
    s = p.add_subparsers(dest="network_command", metavar="SUBCOMMAND", required=True)
    b = s.add_parser("build", help="build a road graph from OSM (.osm/.osm.bz2/.osm.pbf) or Kartverket road links (.gpkg)")
    src = b.add_mutually_exclusive_group()
    src.add_argument("--osm", type=Path)
    src.add_argument("--roads", type=Path, help="Kartverket Veglenke layer (default: the national N1000 layer)")
    b.add_argument("--out", type=Path, help="also save the graph here (.npz, or a folder)")
    b.add_argument("--force", action="store_true", help="overwrite an existing --out file (only a graph siting saved)")
    b.add_argument("--no-ferries", action="store_true")
    b.add_argument("--ferry-wait", type=float, default=15.0, help="waiting penalty per ferry link without a sourced route, minutes")
    b.add_argument("--no-ferry-table", action="store_true", help="flat rule for every ferry link (ignore data/roads/ferries.csv)")
    b.set_defaults(func=build)
    i = s.add_parser("info", help="describe a built graph (.npz), a road file (OSM/Kartverket, built or from the cache) "
                     "or the network a run would use")  # fmt: skip
    i.add_argument("file", nargs="?", type=Path)
    i.set_defaults(func=info)
    c = s.add_parser("check", help="compare the network's drive times with sourced reference times (tool/reference ratios)")
    c.add_argument("--file", type=Path, help="drive-time table (default: the bundled data/validation/drive_times.csv)")
    c.add_argument("--json", action="store_true", help="print rows and summary as JSON")
    c.set_defaults(func=check)


def _print(g) -> None:
    print(g.source)
    for k, v in g.info.items():
        if k not in ("speeds_kmh", "ferry_table"):
            print(f"  {k}: {v}")
    t = g.info.get("ferry_table")
    if t:
        print(f"  ferry table: {t['file'] or 'none (flat rule for every link)'}; {t['rule']}")
        print(f"    {t['routes_used']} routes, {t['links_from_table']} links from the table, "
              f"{t['links_closed']} links of closed routes (no edge), {t['links_fallback']} links on the flat rule "
              f"({t.get('links_fallback_in_network', '?')} of them in the network)")
        for r in t["routes"]:
            print(f"    route {r['route_id']}: {r['links']} link(s), crossing {r['crossing_minutes']:g} min "
                  f"({r['crossing_from']}), wait {r['wait_minutes']:g} min ({r['wait_from']})")
        for r in t["routes_unmatched"]:
            print(f"    route {r['route_id']} not matched: {r['reason']}")
        for f in t["fallback_links"]:
            where = "" if f.get("in_network", True) else ", not in the network"
            print(f"    flat rule: ferry link {f.get('link', '?')} {f['lonlat_a']} - {f['lonlat_b']} ({f['km']:g} km{where})")


def build(args) -> int:
    from rich.console import Console

    from siting.errors import SitingError
    from siting.io import check_output_file
    from siting.network import NetworkSpec, build_network, national_roads_path

    out = None if not args.out else args.out / "network.npz" if args.out.suffix != ".npz" else args.out
    if out is not None:
        check_output_file(out, force=args.force, written_by=_graph_file, what="graph file")  # before the build
    path = args.osm or args.roads or national_roads_path()
    if path is None:
        raise SitingError("no road data: give --osm FILE or --roads FILE, or run `siting data fetch roads`")
    spec = NetworkSpec(ferries=not args.no_ferries, ferry_wait_minutes=args.ferry_wait, ferry_table=not args.no_ferry_table)
    with Console(stderr=True).status(f"building network from {path}…"):
        g = build_network(path, spec)
    _print(g)
    if out is not None:
        g.save(out)
        print(f"wrote {out}")
    return 0


def _graph_file(path: Path) -> bool:
    """True for a graph saved by ``siting network build --out`` (its members name the graph arrays)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return {"node_xy.npy", "indptr.npy", "meta.npy"} <= set(zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def info(args) -> int:
    from siting.network import build_network, load_network

    g = build_network(args.file) if args.file else load_network()
    _print(g)
    return 0


def check(args) -> int:
    from siting.io import json_text
    from siting.network import NetworkSpec, load_network
    from siting.network.validation import drive_time_ratios, load_drive_times, summarize

    table = load_drive_times(args.file)
    g = load_network()
    sailing = load_network(NetworkSpec(ferry_wait=0.0, ferry_wait_minutes=0.0))  # ferry rows: no wait at the quay
    ratios = drive_time_ratios(g, table, sailing_graph=sailing)
    summary = summarize(ratios)
    if args.json:
        cols = ["id", "from", "to", "kind", "ferry", "group", "reference_minutes", "tool_minutes", "tool_minutes_with_wait", "ratio"]
        rows = ratios[cols].round({"tool_minutes": 1, "tool_minutes_with_wait": 1, "ratio": 2}).astype(object)
        rows = rows.where(rows.notna(), None).to_dict("records")
        print(json_text({"network": g.source, "rows": rows, "summary": summary}, indent=1))
        return 0
    print(f"{g.source}: {len(ratios)} reference drive times (ferry rows without the wait at the quay, as published)")
    print(f"{'id':4} {'from':28} {'to':28} {'kind':13} {'ref':>6} {'tool':>6} {'ratio':>5}")
    for r in ratios.itertuples():
        tool = "-" if r.tool_minutes != r.tool_minutes else f"{r.tool_minutes:.0f}"
        ratio = "-" if r.ratio != r.ratio else f"{r.ratio:.2f}"
        name = f"{r.kind}{' +ferry' if r.ferry == 'yes' else ''}"
        print(f"{r.id:4} {r[2][:28]:28} {r.to[:28]:28} {name[:13]:13} {r.reference_minutes:6.0f} {tool:>6} {ratio:>5}")
    print("\ntool/reference ratio: median (p10-p90), share within ±15 %")
    groups = [(k, summary[k]) for k in ("all", "road", "road <45", "road ≥45", "ferry")]
    groups += [(f"kind: {k}", v) for k, v in summary["kind"].items()]
    for name, st in groups:
        if st["n"]:
            print(f"  {name:22} n={st['n']:3}  {st['median']:.2f} ({st['p10']:.2f}-{st['p90']:.2f})  {st['within_15pct']:.0%}"
                  + (f"  {st['unreachable']} unreachable" if st["unreachable"] else ""))
    return 0
