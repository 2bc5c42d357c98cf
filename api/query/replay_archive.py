"""The recordings' blobs as the query API reaches them: the archive's
:class:`~connectors.archive.replays.ReplayBlobStore` over the archive URL the pipeline
writes to, built on first use and held by the app (like the ClickHouse client pool).

Every call runs in a worker thread (listing and reading may be network calls to S3),
and every failure of the archive (a bad URL, S3 unreachable or refusing, a blob that is
not gzip) becomes :class:`ArchiveUnavailable`, answered 503 with a reason: the backends
raise unrelated exception types (OSError, botocore's own, ValueError), none of which is
the request's fault.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio.to_thread

from connectors.archive.replays import ReplayBlobStore

log = logging.getLogger("insightlite.api")

T = TypeVar("T")


class ArchiveUnavailable(Exception):
    """The recordings' archive cannot be read or changed now (HTTP 503)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"the recordings archive could not be {action}")
        self.reason = str(self)


class ReplayArchive:
    """One recording's blobs: list, stream, delete (see the module doc)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: ReplayBlobStore | None = None
        self._lock = threading.Lock()

    def _get_store(self) -> ReplayBlobStore:
        # Built on first use: an API that never serves a recording never touches it,
        # and a URL the store refuses is a 503 of the replay routes, not a failed start.
        with self._lock:
            if self._store is None:
                self._store = ReplayBlobStore(self._url)
            return self._store

    def _call(self, action: str, work: Callable[[ReplayBlobStore], T]) -> T:
        try:
            return work(self._get_store())
        except Exception as exc:  # see the module doc: any backend's failure
            log.warning("replay archive not %s: %s: %s", action, type(exc).__name__, exc)
            raise ArchiveUnavailable(action) from exc

    async def chunk_names(self, site: str, session_id: uuid.UUID) -> list[str]:
        """The recording's blob names in time order; empty when it has none."""
        return await anyio.to_thread.run_sync(
            self._call, "listed", lambda store: store.chunk_names(site, str(session_id))
        )

    async def open_events(self, names: list[str]) -> Iterator[bytes]:
        """The events of the blobs ``names`` as one JSON array, in pieces.

        The first blob is read before this returns, so an archive that cannot be read
        is refused (503) before an answer starts; a failure after that (a blob removed
        or damaged meanwhile) ends the stream early, and is logged.
        """

        def start(store: ReplayBlobStore) -> tuple[list[bytes], Iterator[bytes]]:
            pieces = store.stream_events(names)
            # "[" and the first blob's events (or "]" when there is none).
            return list(itertools.islice(pieces, 2)), pieces

        first, rest = await anyio.to_thread.run_sync(self._call, "read", start)
        return itertools.chain(first, self._guarded(rest))

    def _guarded(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from pieces
        except Exception as exc:  # the answer has started: all that is left is to stop
            log.warning("replay stream stopped: %s: %s", type(exc).__name__, exc)
            raise ArchiveUnavailable("read") from exc

    async def delete(self, site: str, session_id: uuid.UUID) -> int:
        """Remove the recording's blobs; how many there were."""
        return await anyio.to_thread.run_sync(
            self._call, "changed", lambda store: store.delete_session(site, str(session_id))
        )
