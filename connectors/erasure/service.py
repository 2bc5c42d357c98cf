"""Erasure of one session, or of a whole site, from every store InsightLite writes.

A session: its rows in ``events`` and ``sessions``, its recording (the replay tables'
rows and the blobs), its rows in the archived event Parquet files and its dead letters.
A site: all of that for every session, plus its ``heatmap_aggregates`` rows and its data
keys (``key_destroyer``: crypto-shredding what a backup still holds). A session's heatmap
counts stay: they are added into cells shared with other sessions, with no session id,
and are shown only above the minimum crowd, so they are anonymous.

Deletes are ClickHouse lightweight deletes run synchronously (``lightweight_deletes_sync
= 2``): when ``erase_*`` returns, no query sees the rows. Every store is counted first;
a store with nothing to erase is not touched, so erasing twice removes nothing the
second time and succeeds. A dry run only counts. Each erasure is logged once (who,
what, when, the counts), never with the erased data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.archive.destinations import FsspecDestination
from connectors.archive.replays import ReplayBlobStore
from connectors.clickhouse.base import ClickHouseClient, validate_identifier
from connectors.erasure.archive_files import (
    Target,
    erase_archived_events,
    erase_dead_letters,
)
from foundation.settings.common import SITE_ID_PATTERN
from operators.replay_blobs import session_prefix, site_prefix

logger = logging.getLogger("insightlite.erasure")

# Tables holding a session's rows (the recording's first: a half-done erase never lists
# a recording whose chunks are gone), then those holding only a site's.
SESSION_TABLES = ("session_replays", "session_replay_chunks", "events", "sessions")
SITE_ONLY_TABLES = ("heatmap_aggregates",)

# Destroys a site's data keys; returns how many versions it destroyed.
KeyDestroyer = Callable[[str], int]


def remove_empty_folders(destination: FsspecDestination, prefix: str) -> None:
    """Remove the folders left empty under ``prefix`` (and it) in a local archive: their
    names hold the site and session ids. Object stores have no folders."""
    if not destination.is_local:
        return
    top = os.path.join(destination.root, prefix.strip("/"))
    if not os.path.isdir(top):
        return
    for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):  # not empty: a blob written meanwhile stays
            os.rmdir(folder)


def check_target(site_id: str, session_id: str | uuid.UUID | None) -> Target:
    """The checked target; ValueError says which argument is wrong."""
    if not isinstance(site_id, str) or not SITE_ID_PATTERN.fullmatch(site_id):
        raise ValueError(f"site id {site_id!r} is not 1-64 of A-Za-z0-9._-")
    if session_id is None:
        return Target(site_id)
    try:
        canonical = str(session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(session_id))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"session id {session_id!r} is not a UUID") from None
    return Target(site_id, canonical)


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed (or, in a dry run, would remove), per store."""

    site_id: str
    session_id: str | None
    actor: str
    at: datetime
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "session_id": self.session_id,
            "scope": "site" if self.session_id is None else "session",
            "actor": self.actor,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "dry_run": self.dry_run,
            "counts": dict(self.counts),
            "total": sum(self.counts.values()),
        }


class ErasureService:
    """Erase sessions and sites from ClickHouse and the archive location."""

    def __init__(
        self,
        client: ClickHouseClient,
        archive_url: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        key_destroyer: KeyDestroyer | None = None,
    ) -> None:
        self.client = client
        self.archive = FsspecDestination(archive_url, storage_options=storage_options)
        # No cipher: blobs are listed and deleted, never read.
        self.blobs = ReplayBlobStore(archive_url, storage_options=storage_options)
        self.key_destroyer = key_destroyer

    def erase_session(
        self,
        site_id: str,
        session_id: str | uuid.UUID,
        *,
        actor: str,
        now: datetime,
        dry_run: bool = False,
    ) -> ErasureReport:
        """Erase one session of ``site_id`` everywhere."""
        return self._erase(check_target(site_id, session_id), actor, now, dry_run)

    def erase_site(
        self, site_id: str, *, actor: str, now: datetime, dry_run: bool = False
    ) -> ErasureReport:
        """Erase everything of ``site_id``, and destroy its data key."""
        return self._erase(check_target(site_id, None), actor, now, dry_run)

    def _erase(self, target: Target, actor: str, now: datetime, dry_run: bool) -> ErasureReport:
        if now.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        counts: dict[str, int] = {}
        tables = SESSION_TABLES if target.session_id else SESSION_TABLES + SITE_ONLY_TABLES
        existing = self._existing_tables()
        for table in tables:
            if table in existing:
                counts[f"clickhouse.{table}"] = self._erase_rows(table, target, dry_run)
        if target.session_id is None:
            names = self.blobs.destination.list(site_prefix(target.site_id))
            counts["recordings.blobs"] = (
                len(names) if dry_run else self.blobs.delete_site(target.site_id)
            )
        else:
            names = self.blobs.chunk_names(target.site_id, target.session_id)
            counts["recordings.blobs"] = (
                len(names)
                if dry_run
                else self.blobs.delete_session(target.site_id, target.session_id)
            )
        if not dry_run:
            prefix = (
                site_prefix(target.site_id)
                if target.session_id is None
                else session_prefix(target.site_id, target.session_id)
            )
            remove_empty_folders(self.blobs.destination, prefix)
        events = erase_archived_events(self.archive, target, dry_run=dry_run)
        counts["archive.events_rows"] = events.rows
        counts["archive.events_files"] = events.files
        letters = erase_dead_letters(self.archive, target, dry_run=dry_run)
        counts["dead_letters.records"] = letters.rows
        counts["dead_letters.files"] = letters.files
        if target.session_id is None:
            counts["data_key.destroyed"] = self.destroy_site_data_key(target.site_id, dry_run)
        report = ErasureReport(target.site_id, target.session_id, actor, now, dry_run, counts)
        logger.info(
            "%s %s of site %s%s",
            "dry run of erasure" if dry_run else "erased",
            report.as_dict()["scope"],
            target.site_id,
            f" session {target.session_id}" if target.session_id else "",
            extra={"erasure": report.as_dict()},
        )
        return report

    def destroy_site_data_key(self, site_id: str, dry_run: bool) -> int:
        """Destroy the site's data key (crypto-shredding whatever copy of its encrypted
        objects a backup still holds); returns how many key versions were destroyed.

        This is the one place a site erasure destroys the key: wire the key store's
        destruction in as ``key_destroyer`` (``connectors.crypto``). Without one, there
        is no key to destroy and 0 is counted.
        """
        if self.key_destroyer is None or dry_run:
            return 0
        return int(self.key_destroyer(site_id))

    def _existing_tables(self) -> set[str]:
        database = validate_identifier(self.client.database, "database name")
        result = self.client.query(
            "SELECT name FROM system.tables WHERE database = {database:String}",
            {"database": database},
        )
        return {str(name) for (name,) in result.rows}

    def _erase_rows(self, table: str, target: Target, dry_run: bool) -> int:
        database = validate_identifier(self.client.database, "database name")
        where = "site_id = {site:String}"
        params: dict[str, Any] = {"site": target.site_id}
        if target.session_id is not None:
            where += " AND session_id = {session:UUID}"
            params["session"] = target.session_id
        result = self.client.query(f"SELECT count() FROM {database}.{table} WHERE {where}", params)
        found = int(result.rows[0][0])
        if found and not dry_run:
            # Synchronous: the command returns once no query can see the rows.
            self.client.command(
                f"DELETE FROM {database}.{table} WHERE {where} "
                "SETTINGS lightweight_deletes_sync = 2",
                params,
            )
        return found
