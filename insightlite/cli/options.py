"""What the `insightlite` commands share: the settings flags, settings from the parsed
arguments, ``--now``, how a command registers itself, and the one place logging is
configured."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from foundation import logs
from foundation.settings import ConfigError, Settings, load_settings
from foundation.units import parse_utc_time

# Builds a command's settings from its arguments; None for a command that needs none.
SettingsLoader = Callable[[argparse.Namespace], Settings | None]
# Runs a command with its arguments and settings; returns the exit code.
CommandFunction = Callable[[argparse.Namespace, Any], int]

PROGRAM = "insightlite"


def add_logging_flags(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` and ``--log-format``."""
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (INSIGHTLITE_LOG_LEVEL)")
    parser.add_argument("--log-format", help="console or json (INSIGHTLITE_LOG_FORMAT)")


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """The storage and logging flags of the commands that read or write the database."""
    parser.add_argument("--data-dir", help="working directory (INSIGHTLITE_DATA_DIR)")
    parser.add_argument(
        "--clickhouse", help="chdb:PATH or clickhouse://... (INSIGHTLITE_CLICKHOUSE_URL)"
    )
    parser.add_argument("--database", help="ClickHouse database (INSIGHTLITE_CLICKHOUSE_DATABASE)")
    add_logging_flags(parser)


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """The environment's settings overridden by the common flags given and ``extra``."""
    return load_settings(
        data_dir=getattr(args, "data_dir", None),
        clickhouse_url=getattr(args, "clickhouse", None),
        clickhouse_database=getattr(args, "database", None),
        log_level=getattr(args, "log_level", None),
        log_format=getattr(args, "log_format", None),
        **extra,
    )


def set_command(
    parser: argparse.ArgumentParser,
    command: CommandFunction,
    *,
    load_settings: SettingsLoader = settings_from_args,
    error_prefix: str = PROGRAM,
) -> None:
    """Make ``parser``'s subcommand run ``command`` with the settings ``load_settings``
    builds; a ConfigError from ``load_settings`` is printed after ``error_prefix``."""
    parser.set_defaults(
        command_function=command, load_settings=load_settings, error_prefix=error_prefix
    )


def parse_now(value: str | None) -> datetime:
    """The ``--now`` flag as an aware UTC time (now when not given)."""
    try:
        return parse_utc_time(value, "--now")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def sweep_now(value: str | None, removes: str) -> datetime:
    """The time a sweep measures retention from: ``--now`` when given, else the wall
    clock, read here and only here. A future time is refused: it would delete
    ``removes`` that is still kept."""
    wall_clock = datetime.now(UTC)
    now = parse_now(value) if value else wall_clock
    if now > wall_clock:
        raise ConfigError(f"--now: must not be in the future (it would delete {removes})")
    return now


def configure_logging(settings: Settings) -> None:
    """Configure the root logger from the settings: once per process, by ``main``."""
    logs.configure_logging(settings.log_level, settings.log_format)
