"""How `insightlite` runs a command: every subcommand names its function and how its
settings are built, and logging is configured once, by ``main``, never by a command."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from foundation.settings import ConfigError
from insightlite.cli.options import settings_from_args
from insightlite.cli.parser import build_parser
from insightlite.cli.query import cmd_query

ROOT = Path(__file__).resolve().parents[2]


_DEFAULTS = ("command_function", "load_settings", "error_prefix")


def _leaf_commands(
    parser: argparse.ArgumentParser,
    path: tuple[str, ...] = (),
    inherited: dict[str, object] | None = None,
) -> Iterator[tuple[tuple[str, ...], dict[str, object]]]:
    """Each command's words and the defaults its parser or a parser above it sets."""
    defaults = dict(inherited or {})
    defaults.update(
        {name: parser.get_default(name) for name in _DEFAULTS if parser.get_default(name)}
    )
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield path, defaults
    for action in subcommands:
        for name, sub in action.choices.items():
            yield from _leaf_commands(sub, (*path, name), defaults)


def test_every_command_names_its_function_and_settings() -> None:
    leaves = dict(_leaf_commands(build_parser()))
    assert len(leaves) >= 13  # nested ones (schema, kafka, token) included
    for path, defaults in leaves.items():
        assert set(defaults) == set(_DEFAULTS), f"insightlite {' '.join(path)}: {defaults}"


def test_a_command_leaves_logging_alone(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    args = build_parser().parse_args(
        ["query", "SELECT 1", "--data-dir", str(tmp_path), "--log-level", "ERROR"]
    )
    with pytest.raises(ConfigError, match="no InsightLite database"):
        cmd_query(args, settings_from_args(args))
    assert root.handlers == handlers and root.level == level


# Counts the calls of the logging set-up while `insightlite ARGS` runs in this process.
_COUNTING_MAIN = """
import sys

import orjson

import foundation.logs as logs

calls = []
configure = logs.configure_logging


def counting(*args, **kwargs):
    calls.append(list(args))
    configure(*args, **kwargs)


logs.configure_logging = counting
from insightlite.cli import main

code = main(sys.argv[1:])
print(orjson.dumps({"code": code, "calls": calls}).decode())
"""


def _main_counting(*argv: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", _COUNTING_MAIN, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    assert result.stdout, result.stderr[-3000:]
    outcome: dict[str, object] = orjson.loads(result.stdout.splitlines()[-1])
    return outcome


def test_main_configures_logging_once_from_the_command_settings(tmp_path: Path) -> None:
    outcome = _main_counting(
        "query", "SELECT 1", "--data-dir", str(tmp_path), "--log-level", "ERROR",
        "--log-format", "json",
    )  # fmt: skip
    assert outcome == {"code": 2, "calls": [["ERROR", "json"]]}


def test_a_command_without_settings_configures_no_logging(tmp_path: Path) -> None:
    # Writing a file reads no INSIGHTLITE_* setting, so a bad one does not stop it.
    out = tmp_path / "r.jsonl"
    outcome = _main_counting(
        "generate", "--events", "2", "--out", str(out), env={"INSIGHTLITE_LOG_LEVEL": "BOGUS"}
    )
    assert outcome == {"code": 0, "calls": []}
    assert len(out.read_bytes().splitlines()) == 2
