"""The `insightlite` command.

``main`` parses the arguments, builds the chosen command's settings, configures
logging from them (the only place logging is configured), then runs the command.
Exit codes: 0 done, 1 a service is unavailable or the command failed, 2 bad
arguments or settings.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from foundation.settings import ConfigError
from insightlite.cli.options import configure_logging
from insightlite.cli.parser import build_parser
from insightlite.cli.storage import quiet_driver_logs

__all__ = ["main"]

log = logging.getLogger("insightlite")


def _unavailable(exc: Exception) -> str | None:
    """One line naming the problem and the fix, for a service that cannot be used."""
    from connectors.clickhouse import ClickHouseUnavailable
    from connectors.kafka.raw_source import KafkaUnavailable
    from insightlite.cli.storage import StorageUnavailable

    if isinstance(exc, KafkaUnavailable | StorageUnavailable):
        return str(exc)
    if isinstance(exc, ClickHouseUnavailable):
        detail = " ".join(str(exc).split())
        return (
            f"ClickHouse is unavailable ({detail}): start the server, stop any other process "
            "using the data directory, or fix INSIGHTLITE_CLICKHOUSE_URL / INSIGHTLITE_DATA_DIR"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_driver_logs()
    try:
        settings = args.load_settings(args)
    except ConfigError as exc:
        print(f"{args.error_prefix}: {exc}", file=sys.stderr)
        return 2
    if settings is not None:
        configure_logging(settings)
    try:
        code: int = args.command_function(args, settings)
    except ConfigError as exc:
        print(f"insightlite: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        message = _unavailable(exc)
        if message is None:
            raise
        # The traceback only helps when debugging InsightLite itself.
        log.debug("traceback of the failure below", exc_info=True)
        print(f"insightlite: {message}", file=sys.stderr)
        return 1
    return code
