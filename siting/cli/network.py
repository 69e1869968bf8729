"""``siting network build`` and ``siting network info``."""

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
    b.add_argument("--no-ferries", action="store_true")
    b.add_argument("--ferry-wait", type=float, default=15.0, help="waiting penalty per ferry crossing, minutes")
    b.set_defaults(func=build)
    i = s.add_parser("info", help="describe a built graph (.npz), a road file (OSM/Kartverket, built or from the cache) "
                     "or the network a run would use")  # fmt: skip
    i.add_argument("file", nargs="?", type=Path)
    i.set_defaults(func=info)


def _print(g) -> None:
    print(g.source)
    for k, v in g.info.items():
        if k != "speeds_kmh":
            print(f"  {k}: {v}")


def build(args) -> int:
    from rich.console import Console

    from siting.errors import SitingError
    from siting.network import NetworkSpec, build_network, national_roads_path

    path = args.osm or args.roads or national_roads_path()
    if path is None:
        raise SitingError("no road data: give --osm FILE or --roads FILE, or run `siting data fetch roads`")
    spec = NetworkSpec(ferries=not args.no_ferries, ferry_wait_minutes=args.ferry_wait)
    with Console(stderr=True).status(f"building network from {path}…"):
        g = build_network(path, spec)
    _print(g)
    if args.out:
        out = args.out / "network.npz" if args.out.suffix != ".npz" else args.out
        g.save(out)
        print(f"wrote {out}")
    return 0


def info(args) -> int:
    from siting.network import build_network, load_network

    g = build_network(args.file) if args.file else load_network()
    _print(g)
    return 0
