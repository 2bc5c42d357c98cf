"""The archive's retention: delete whole day folders of events and dead letters older
than their retention.

Files live under ``<prefix>/year=YYYY/month=MM/day=DD/`` (``connectors.archive.writer``);
a file goes when its day ends before the cutoff, ``now`` less the retention (months
counted on the calendar, ``now`` passed in). On S3 the bucket's lifecycle rules expire
the same prefixes too; the sweep is what applies the settings to a local folder, and
to a bucket whose rules were set with other values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from connectors.archive.destinations import FsspecDestination
from connectors.archive.writer import DEAD_LETTER_PREFIX, EVENTS_PREFIX

_DAY_FOLDER = re.compile(r"year=(\d{4})/month=(\d{2})/day=(\d{2})")


@dataclass(frozen=True)
class ArchiveSweep:
    """Files deleted (or, in a dry run, that would be) under one prefix."""

    prefix: str
    cutoff: date
    files: int


def months_before(moment: datetime, months: int) -> date:
    """The calendar day ``months`` months before ``moment``'s UTC day (the last day of
    the month when that month is shorter)."""
    if moment.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    day = moment.date()
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def file_day(path: str) -> date | None:
    """The day partition a file lies in; None for a path outside one."""
    match = _DAY_FOLDER.search(path)
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def sweep_prefix(
    destination: FsspecDestination, prefix: str, cutoff: date, *, dry_run: bool
) -> ArchiveSweep:
    """Delete every file under ``prefix`` whose day is before ``cutoff``."""
    expired = [
        path
        for path in destination.list(prefix)
        if (day := file_day(path[len(prefix) :])) is not None and day < cutoff
    ]
    if not dry_run:
        for path in expired:
            destination.delete(path)
    return ArchiveSweep(prefix, cutoff, len(expired))


def sweep_archive(
    destination: FsspecDestination,
    *,
    now: datetime,
    events_months: int,
    dead_letter_days: int,
    dry_run: bool,
) -> list[ArchiveSweep]:
    """Apply both archive retentions: events (months) and dead letters (days)."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return [
        sweep_prefix(
            destination, EVENTS_PREFIX, months_before(now, events_months), dry_run=dry_run
        ),
        sweep_prefix(
            destination,
            DEAD_LETTER_PREFIX,
            now.date() - timedelta(days=dead_letter_days),
            dry_run=dry_run,
        ),
    ]
