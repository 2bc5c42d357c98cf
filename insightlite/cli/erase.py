"""The `insightlite erase` command: erase one session, or a whole site, everywhere.

    insightlite erase --site S [--session UUID] [--dry-run] --yes

Removes the session's (or the site's) rows from ClickHouse, its recording blobs, its
rows in the archived event files and its dead letters (``connectors.erasure``), then
prints what it removed, per store, as one JSON object. ``--dry-run`` only counts.
Without ``--yes`` (and not a dry run) nothing is erased. Exit codes: 0 done, 1
ClickHouse unavailable, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import orjson

from foundation.settings import ConfigError, Settings
from insightlite.cli.options import add_common_flags, set_command

ACTOR = "cli"


def add_parser(subparsers: Any) -> None:
    """Add ``erase`` to ``subparsers`` (from ``add_subparsers``)."""
    erase = subparsers.add_parser(
        "erase",
        help="erase a session or a whole site from every store",
        description="Erase one session (--session) or everything of a site: ClickHouse "
        "rows, session recordings, archived events and dead letters. Prints the counts "
        "per store as JSON.",
    )
    erase.add_argument("--site", required=True, help="the site id")
    erase.add_argument("--session", help="the session id (a UUID); without it, the whole site")
    erase.add_argument(
        "--dry-run", action="store_true", help="only count what would be erased; erase nothing"
    )
    erase.add_argument("--yes", action="store_true", help="confirm the erasure (it is final)")
    add_common_flags(erase)
    set_command(erase, cmd_erase)


def cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.crypto import site_key_destroyer
    from connectors.erasure import ErasureService, check_target
    from insightlite.cli.storage import open_for_reading

    try:
        check_target(args.site, args.session)
    except ValueError as exc:
        raise ConfigError(f"--site/--session: {exc}") from None
    if not args.yes and not args.dry_run:
        raise ConfigError("--yes: an erasure is final; confirm it with --yes (or use --dry-run)")
    # The wall clock is read here and only here; the service is given the time.
    now = datetime.now(UTC)
    client = open_for_reading(settings)
    try:
        try:
            service = ErasureService(
                client,
                settings.resolved_archive_url,
                key_destroyer=site_key_destroyer(settings, actor=ACTOR),
            )
        except ValueError as exc:
            raise ConfigError(f"INSIGHTLITE_ARCHIVE_URL: {exc}") from None
        if args.session is None:
            report = service.erase_site(args.site, actor=ACTOR, now=now, dry_run=args.dry_run)
        else:
            report = service.erase_session(
                args.site, args.session, actor=ACTOR, now=now, dry_run=args.dry_run
            )
    finally:
        client.close()
    print(orjson.dumps(report.as_dict()).decode())
    return 0
