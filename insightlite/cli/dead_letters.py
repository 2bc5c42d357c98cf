"""The `insightlite dead-letters` command: read the archived dead letters, payloads in
clear.

    insightlite dead-letters [--day YYYY-MM-DD] [--stage S] [--reason CODE] [--site S]
                             [--payloads]

A dead letter's payload is encrypted with its site's data key (``connectors.crypto``),
so ``jq`` over the files sees only the clear fields (stage, reasons, source, offset,
site, session). This command opens them: one JSON object per line, the whole record,
or with ``--payloads`` only the payloads that are JSON objects, one per line, ready for
``insightlite run --input file:...`` once the cause is fixed. The payload is masked as
the stored events are; a site whose keys were shredded has nothing left to read: its
records are skipped and counted on stderr.

Exit codes: 0 done, 1 the archive or the key store unavailable, 2 bad arguments or
settings.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import orjson

from foundation.settings import SITE_ID_PATTERN, ConfigError, Settings
from insightlite.cli.options import add_logging_flags, set_command

ACTOR = "insightlite dead-letters"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def add_parser(subparsers: Any) -> None:
    """Add ``dead-letters`` to ``subparsers`` (from ``add_subparsers``)."""
    parser = subparsers.add_parser(
        "dead-letters",
        help="print the archived dead letters with their payloads decrypted",
        description="Print the archive's dead letters, one JSON object per line, with "
        "their payloads decrypted; filter by day, stage, reason code or site.",
    )
    parser.add_argument("--day", type=_day, help="only this UTC day (YYYY-MM-DD)")
    parser.add_argument("--stage", help="only this stage (input, validate, bot_filter, ...)")
    parser.add_argument("--reason", help="only records with this reason code")
    parser.add_argument("--site", help="only this site id")
    parser.add_argument(
        "--payloads",
        action="store_true",
        help="print only the payloads that are JSON objects (re-feedable with "
        "`insightlite run --input file:...`)",
    )
    parser.add_argument("--data-dir", help="working directory (INSIGHTLITE_DATA_DIR)")
    add_logging_flags(parser)
    set_command(parser, cmd_dead_letters)


def matching(
    records: Iterable[dict[str, Any]], *, stage: str | None, reason: str | None, site: str | None
) -> Iterator[dict[str, Any]]:
    """The records that pass every filter given."""
    for record in records:
        if stage is not None and record.get("stage") != stage:
            continue
        if site is not None and record.get("site_id") != site:
            continue
        codes = {item.get("code") for item in record.get("reasons") or ()}
        if reason is not None and reason not in codes:
            continue
        yield record


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.archive import ArchiveWriter
    from connectors.crypto import SHREDDED_FIELD, CryptoError, archive_cipher

    if args.site is not None and not SITE_ID_PATTERN.fullmatch(args.site):
        raise ConfigError(f"--site: {args.site!r} is not a site id (1-64 of A-Za-z0-9._-)")
    try:
        archive = ArchiveWriter(
            settings.resolved_archive_url, cipher=archive_cipher(settings, actor=ACTOR)
        )
    except ValueError as exc:
        raise ConfigError(f"INSIGHTLITE_ARCHIVE_URL: {exc}") from None
    try:
        records = archive.read_dead_letters(args.day, skip_shredded=True)
    except (CryptoError, OSError) as exc:
        print(f"insightlite: dead-letters: {exc}", file=sys.stderr)
        return 1
    shredded = not_objects = 0
    out = sys.stdout
    for record in matching(records, stage=args.stage, reason=args.reason, site=args.site):
        if record.get(SHREDDED_FIELD):
            shredded += 1
            continue
        if not args.payloads:
            out.write(orjson.dumps(record).decode() + "\n")
        elif isinstance(record.get("payload"), dict):
            out.write(orjson.dumps(record["payload"]).decode() + "\n")
        else:
            not_objects += 1  # undecodable input: nothing to run again
    if shredded:
        print(f"skipped {shredded} dead letter(s) of shredded sites", file=sys.stderr)
    if not_objects:
        print(f"skipped {not_objects} payload(s) that are not JSON objects", file=sys.stderr)
    return 0
