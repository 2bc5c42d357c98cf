"""The `insightlite demo` command: generate traffic and run it all embedded."""

from __future__ import annotations

import argparse
from typing import Any

from foundation.settings import Settings
from insightlite.cli.options import add_common_flags, set_command


def add_parser(subparsers: Any) -> None:
    """Add ``demo`` to ``subparsers`` (from ``add_subparsers``)."""
    demo = subparsers.add_parser("demo", help="generate traffic and run it all embedded")
    demo.add_argument(
        "--events", type=int, default=200_000, help="events to generate (default 200,000)"
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed of the generated traffic")
    demo.add_argument(
        "--serve", action="store_true", help="then serve the query API over the demo's data"
    )
    add_common_flags(demo)
    set_command(demo, cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from insightlite.demo import run_demo

    return run_demo(settings, events=args.events, seed=args.seed, serve=args.serve)
