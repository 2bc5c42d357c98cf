"""The `insightlite query` command: run a read-only SQL query and print a table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from foundation.settings import Settings
from insightlite.cli.options import add_common_flags, set_command


def add_parser(subparsers: Any) -> None:
    """Add ``query`` to ``subparsers`` (from ``add_subparsers``)."""
    query = subparsers.add_parser("query", help="run a read-only SQL query and print a table")
    query.add_argument("sql", help="the SQL to run; ClickHouse refuses anything but reads")
    query.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json (one object per line) or csv (with a header)",
    )
    add_common_flags(query)
    set_command(query, cmd_query)


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.clickhouse import QueryError, readonly_query
    from insightlite.cli.storage import open_for_reading
    from insightlite.report import print_result

    client = open_for_reading(settings)
    try:
        result = readonly_query(client, args.sql)
    except QueryError as exc:
        print(f"query failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print_result(result, args.format)
    return 0
