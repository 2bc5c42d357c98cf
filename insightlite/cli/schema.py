"""The `insightlite schema` command: apply or list the database schema migrations."""

from __future__ import annotations

import argparse
from typing import Any

from foundation.settings import Settings
from insightlite.cli.options import add_common_flags, set_command


def add_parser(subparsers: Any) -> None:
    """Add ``schema apply`` and ``schema status`` to ``subparsers``."""
    schema = subparsers.add_parser("schema", help="database schema migrations")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    apply = schema_sub.add_parser("apply", help="apply pending migrations")
    add_common_flags(apply)
    status = schema_sub.add_parser("status", help="list applied and pending migrations")
    add_common_flags(status)
    set_command(schema, cmd_schema)


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.clickhouse import apply_migrations, connect, pending_migrations
    from connectors.clickhouse.retention import apply_settings_retention
    from insightlite.cli.storage import check_embedded_free, open_for_reading

    if args.schema_command == "apply":
        check_embedded_free(settings)
        client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
        try:
            applied = apply_migrations(client)
            apply_settings_retention(client, settings)
        finally:
            client.close()
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    else:
        client = open_for_reading(settings)
        try:
            pending = pending_migrations(client)
        finally:
            client.close()
        print("pending: " + (", ".join(pending) if pending else "none"))
    return 0
