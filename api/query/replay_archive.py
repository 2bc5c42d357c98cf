"""The recordings' blobs as the query API reaches them: the archive's
:class:`~connectors.archive.replays.ReplayBlobStore` over the archive URL the pipeline
writes to, built on first use and held by the app (like the ClickHouse client pool).

Every call runs in a worker thread (listing and reading may be network calls to S3),
and every failure of the archive (a bad URL, S3 unreachable or refusing, a blob that is
not gzip) becomes :class:`ArchiveUnavailable`, answered 503 with a reason: the backends
raise unrelated exception types (OSError, botocore's own, ValueError), none of which is
the request's fault. The one exception is the search for a page's picture
(:meth:`ReplayArchive.page_snapshot`), which looks through several recordings: there a
blob that is gone or damaged is skipped (and a damaged one logged), and only a failure
to reach the archive is a 503.

Blobs are stored encrypted under their site's data key (``connectors.crypto``) and read
decrypted. A recording whose site's keys were destroyed (crypto-shredded) raises
:class:`RecordingShredded`, answered 410 Gone with the reason, never a 5xx.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anyio.to_thread

from api.query.page_snapshot import PageLoad, SnapshotChunk, continue_page_load, scan_chunk
from connectors.archive.replays import ReplayBlobStore
from connectors.crypto import (
    ArchiveCipher,
    CryptoConfig,
    DecryptionFailed,
    KeyDestroyed,
    archive_cipher,
)
from operators.replay_blobs import decode_blob

log = logging.getLogger("insightlite.api")

T = TypeVar("T")


class ArchiveUnavailable(Exception):
    """The recordings' archive cannot be read or changed now (HTTP 503)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"the recordings archive could not be {action}")
        self.reason = str(self)


class RecordingShredded(Exception):
    """The recording's site's data keys were destroyed: it can never be read (HTTP 410)."""

    def __init__(self, cause: KeyDestroyed) -> None:
        super().__init__(str(cause))
        self.reason = str(cause)


class ReplayArchive:
    """One recording's blobs: list, stream, delete (see the module doc).

    ``open_cipher`` builds the cipher that decrypts the blobs, on first use (None:
    blobs are read as stored, and an encrypted one cannot be read).
    """

    def __init__(
        self, url: str, *, open_cipher: Callable[[], ArchiveCipher | None] | None = None
    ) -> None:
        self._url = url
        self._open_cipher = open_cipher
        self._store: ReplayBlobStore | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: CryptoConfig) -> ReplayArchive:
        """The archive the pipeline writes to, decrypted with the settings' keys."""
        return cls(
            settings.resolved_archive_url,
            open_cipher=lambda: archive_cipher(settings, actor="query api"),
        )

    def _get_store(self) -> ReplayBlobStore:
        # Built on first use: an API that never serves a recording never touches it,
        # and a URL the store refuses is a 503 of the replay routes, not a failed start.
        with self._lock:
            if self._store is None:
                cipher = None if self._open_cipher is None else self._open_cipher()
                self._store = ReplayBlobStore(self._url, cipher=cipher)
            return self._store

    def _call(self, action: str, work: Callable[[ReplayBlobStore], T]) -> T:
        try:
            return work(self._get_store())
        except KeyDestroyed as exc:
            raise RecordingShredded(exc) from exc
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

    async def page_snapshot(
        self, site: str, chunks: list[SnapshotChunk], path: str
    ) -> tuple[SnapshotChunk, PageLoad] | None:
        """The newest page load of ``path`` in ``chunks`` (newest first): the first
        chunk holding a Meta of the path followed by a FullSnapshot, which may be the
        first event of the recording's next blob; with the chunk it was found in."""

        def search(store: ReplayBlobStore) -> tuple[SnapshotChunk, PageLoad] | None:
            for chunk in chunks:
                events = _blob_events(store, chunk.blob_name)
                if events is None:
                    continue
                scan = scan_chunk(events, path)
                if scan.pending is not None:
                    following = _next_blob(store, site, chunk)
                    later = None if following is None else _blob_events(store, following)
                    load = continue_page_load(scan.pending, later or [])
                    if load is not None:
                        return chunk, load
                if scan.found is not None:
                    return chunk, scan.found
            return None

        return await anyio.to_thread.run_sync(self._call, "read", search)


def _blob_events(store: ReplayBlobStore, name: str) -> list[Any] | None:
    """A blob's events; None when it is gone or damaged (other failures propagate)."""
    try:
        blob = store.read(name)
    except (FileNotFoundError, KeyDestroyed):
        return None  # gone, or its site's keys destroyed: as good as gone
    except DecryptionFailed as exc:
        log.warning("replay blob skipped, not readable: %s: %s", type(exc).__name__, name)
        return None
    try:
        events = decode_blob(blob).get("events")
    # Not gzip, cut short, not JSON, or not the object encode_blob writes.
    except (OSError, EOFError, zlib.error, ValueError, AttributeError) as exc:
        log.warning("replay blob skipped, not readable: %s: %s", type(exc).__name__, name)
        return None
    return events if isinstance(events, list) else None


def _next_blob(store: ReplayBlobStore, site: str, chunk: SnapshotChunk) -> str | None:
    """The name of the recording's blob after ``chunk``'s (names sort in time order)."""
    names = store.chunk_names(site, chunk.session_id)
    later = [name for name in names if name > chunk.blob_name]
    return later[0] if later else None
