"""The `insightlite` argument parser, built from the command modules."""

from __future__ import annotations

import argparse

from insightlite.cli import (
    api,
    collector,
    dead_letters,
    demo,
    erase,
    generate,
    heatmap,
    kafka,
    keys,
    query,
    replays,
    retention,
    run,
    schema,
)

# In the order `insightlite --help` lists them.
COMMAND_MODULES = (
    generate,
    run,
    demo,
    query,
    schema,
    replays,
    erase,
    retention,
    keys,
    dead_letters,
    heatmap,
    kafka,
    collector,
    api,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="insightlite",
        description="Privacy-first web analytics pipeline. Settings come from INSIGHTLITE_* "
        "environment variables; flags override them.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    return parser
