"""Every option of every `insightlite` command says what it does in --help."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from insightlite.cli.parser import build_parser


def _parsers(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_option_and_argument_has_help() -> None:
    missing = []
    commands = 0
    for path, parser in _parsers(build_parser(), "insightlite"):
        commands += 1
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                name = "/".join(action.option_strings) or action.dest
                missing.append(f"{path} {name}")
    assert commands > 10  # every subcommand was walked, nested ones included
    assert not missing, "options without help: " + ", ".join(missing)
