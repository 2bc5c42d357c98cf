"""The `insightlite retention` command: apply the per-store retention settings.

    insightlite retention apply [--dry-run] [--now ISO]

Sets every ClickHouse table's TTL from its ``INSIGHTLITE_*_RETENTION_*`` setting (when
it differs), then deletes the archive's day folders older than their retention: events
(``INSIGHTLITE_ARCHIVE_RETENTION_MONTHS``) and dead letters
(``INSIGHTLITE_DEAD_LETTER_RETENTION_DAYS``). Recordings have their own sweep
(`insightlite replays expire`). Prints one JSON object. ``--dry-run`` changes nothing and
lists what would change. Exit codes: 0 done, 1 ClickHouse unavailable, 2 bad arguments
or settings.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from foundation.settings import ConfigError, Settings
from insightlite.cli.options import add_common_flags, set_command, sweep_now


def add_parser(subparsers: Any) -> None:
    """Add ``retention apply`` to ``subparsers`` (from ``add_subparsers``)."""
    retention = subparsers.add_parser("retention", help="apply the data retention settings")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    apply = retention_sub.add_parser(
        "apply",
        help="set the tables' TTLs and delete expired archive files",
        description="Set every ClickHouse table's TTL from the retention settings and "
        "delete the archive's events and dead letters older than their retention.",
    )
    apply.add_argument("--dry-run", action="store_true", help="only say what would change")
    apply.add_argument(
        "--now", help="ISO time the retention is measured from (default: now, UTC); not later"
    )
    add_common_flags(apply)
    set_command(retention, cmd_retention)


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.archive.destinations import FsspecDestination
    from connectors.clickhouse.retention import (
        apply_retention,
        parse_ttl,
        table_engines,
        table_ttls,
    )
    from connectors.erasure.archive_retention import sweep_archive
    from insightlite.cli.storage import open_for_reading

    now = sweep_now(args.now, "recent data")
    try:
        archive = FsspecDestination(settings.resolved_archive_url)
    except ValueError as exc:
        raise ConfigError(f"INSIGHTLITE_ARCHIVE_URL: {exc}") from None
    ttls = table_ttls(settings)
    client = open_for_reading(settings)
    try:
        if args.dry_run:
            engines = table_engines(client, [ttl.table for ttl in ttls])
            changed = [
                ttl.table
                for ttl in ttls
                if ttl.table in engines
                and (parse_ttl(engines[ttl.table]) or ("", "", 0))[1:] != (ttl.unit, ttl.amount)
            ]
        else:
            changed = apply_retention(client, ttls)
    finally:
        client.close()
    sweeps = sweep_archive(
        archive,
        now=now,
        events_months=settings.archive_retention_months,
        dead_letter_days=settings.dead_letter_retention_days,
        dry_run=args.dry_run,
    )
    answer = {
        "dry_run": args.dry_run,
        "ttl": {ttl.table: ttl.expression for ttl in ttls},
        "ttl_changed": changed,
        "archive": {
            sweep.prefix: {"cutoff": sweep.cutoff.isoformat(), "files_deleted": sweep.files}
            for sweep in sweeps
        },
    }
    print(orjson.dumps(answer).decode())
    return 0
