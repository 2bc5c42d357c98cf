"""The `insightlite replays` command: maintenance of the stored session recordings.

    insightlite replays expire [--dry-run] [--now ISO]

``expire`` deletes every recording older than ``INSIGHTLITE_REPLAY_RETENTION_DAYS``
(measured from now) from the archive location (a local folder or S3) and from the
replay tables, whole, and prints how many recordings and blobs it deleted. Exit codes:
0 done, 1 ClickHouse unavailable, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
from typing import Any

from foundation.settings import ConfigError, Settings
from insightlite.cli.options import add_common_flags, set_command, sweep_now


def add_parser(subparsers: Any) -> None:
    """Add ``replays expire`` to ``subparsers`` (from ``add_subparsers``)."""
    replays = subparsers.add_parser("replays", help="maintain the stored session recordings")
    replays_sub = replays.add_subparsers(dest="replays_command", required=True)
    expire = replays_sub.add_parser(
        "expire",
        help="delete the recordings older than the retention",
        description="Delete every session recording whose newest part is older than "
        "INSIGHTLITE_REPLAY_RETENTION_DAYS: its blobs in the archive location "
        "(INSIGHTLITE_ARCHIVE_URL, a local folder or S3) and its rows in ClickHouse.",
    )
    expire.add_argument(
        "--dry-run",
        action="store_true",
        help="only count what would be deleted; delete nothing",
    )
    expire.add_argument(
        "--now",
        help="ISO time the retention is measured from (default: now, UTC); never later than now",
    )
    add_common_flags(expire)
    set_command(replays, cmd_replays)


def cmd_replays(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.archive.replay_retention import expire_recordings
    from connectors.archive.replays import ReplayBlobStore
    from insightlite.cli.storage import open_for_reading

    now = sweep_now(args.now, "recent recordings")
    try:
        store = ReplayBlobStore(settings.resolved_archive_url)
    except ValueError as exc:
        raise ConfigError(f"INSIGHTLITE_ARCHIVE_URL: {exc}") from None
    client = open_for_reading(settings)
    try:
        sweep = expire_recordings(
            store,
            client,
            now=now,
            retention_days=settings.replay_retention_days,
            dry_run=args.dry_run,
        )
    finally:
        client.close()
    print(f"cutoff: {sweep.cutoff.isoformat().replace('+00:00', 'Z')}")
    if sweep.dry_run:
        print("dry run: nothing was deleted")
    print(f"recordings: {sweep.recordings}")
    print(f"blobs: {sweep.blobs}")
    return 0
