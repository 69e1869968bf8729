"""The ``siting`` command line.

Each sub-command group lives in its own module under :mod:`siting.cli` and exposes
``register(subparsers)``; this module only assembles them and turns user errors
(:class:`siting.errors.SitingError`) into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading

from siting import __version__
from siting.errors import SitingError, Terminated

#: Modules under siting.cli that contribute sub-commands, in help order.
COMMAND_MODULES = ("run", "sweep", "explain", "report", "validate", "compare", "map", "data", "network", "wishes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="siting",
        description="Propose and map sites for Norway's 20 new police offices "
        "(real data, road-network drive times, exact facility-location models).",
    )
    parser.add_argument("--version", action="version", version=f"siting {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"siting.cli.{name}")
        except ModuleNotFoundError as exc:  # a command group not written yet
            if exc.name == f"siting.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    logging.getLogger("numexpr").setLevel(logging.WARNING)  # "NumExpr defaulting to N threads" is not for users
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    previous = None
    if threading.current_thread() is threading.main_thread():  # SIGTERM cleans up like Ctrl-C (no hidden folders left)
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return int(args.func(args) or 0)
    except SitingError as exc:
        print(f"siting: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("siting: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("siting: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file the user named cannot be read or written: one line, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"siting: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminated(signum, frame):
    raise Terminated()
