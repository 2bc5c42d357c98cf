"""Session recordings in the archive location: one gzip blob per stored chunk.

The names and the encoding are ``operators.replay_blobs``'; this module reads and
writes them through the archive's destination (a local folder, S3 or memory), so the
replay step and the query API see the same objects.

With a cipher (``connectors.crypto``) every blob is stored encrypted under its site's
data key, with its name as associated data; reading decrypts it. A blob written
before encryption was turned on is read as it is. A recording whose site's keys were
destroyed raises ``KeyDestroyed``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from connectors.archive.destinations import FsspecDestination

# Submodules, not the package: connectors.crypto's own imports reach the archive's.
from connectors.crypto.cipher import ArchiveCipher
from connectors.crypto.envelope import NoKeyConfigured, is_encrypted
from operators.replay_blobs import (
    BLOB_SUFFIX,
    REPLAYS_FOLDER,
    blob_events_json,
    session_prefix,
    site_prefix,
)


def blob_site(name: str) -> str:
    """The site a blob name belongs to (``replays/site=<id>/session=<id>/<file>``)."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != REPLAYS_FOLDER or not parts[1].startswith("site="):
        raise ValueError(f"{name!r} is not a recording blob name")
    return parts[1].removeprefix("site=")


class ReplayBlobStore:
    """Write, list, stream and delete recordings' blobs under ``<archive>/replays/``."""

    def __init__(
        self,
        url: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        cipher: ArchiveCipher | None = None,
    ) -> None:
        self.destination = FsspecDestination(url, storage_options=storage_options)
        self.cipher = cipher

    @property
    def url(self) -> str:
        return self.destination.url

    def write(self, name: str, blob: bytes) -> None:
        """Store one blob, replacing one of the same name (atomically); encrypted when
        the store has a cipher (a fresh nonce: a rewrite has other bytes, same content)."""
        if self.cipher is not None:
            blob = self.cipher.encrypt(blob_site(name), name, blob)
        self.destination.write_bytes(name, blob)

    def chunk_names(self, site_id: str, session_id: str) -> list[str]:
        """The recording's blob names, in time order (the names sort that way)."""
        prefix = session_prefix(site_id, session_id)
        return [
            name
            for name in self.destination.list(prefix)
            if name.endswith(BLOB_SUFFIX) and "/" not in name[len(prefix) :]
        ]

    def read(self, name: str) -> bytes:
        """One blob as ``operators.replay_blobs`` encoded it (decrypted). Raises
        ``KeyDestroyed`` when its site's keys were shredded, ``DecryptionFailed`` when
        it was tampered with or moved, ``FileNotFoundError`` when there is none."""
        data = self.destination.read_bytes(name)
        if not is_encrypted(data):
            return data
        if self.cipher is None:
            raise NoKeyConfigured(f"recording blob {name} is encrypted and encryption is off")
        return self.cipher.decrypt(blob_site(name), name, data)

    def stream_events(self, names: list[str]) -> Iterator[bytes]:
        """One JSON array of every event of the given blobs, in their order, produced
        blob by blob so that a long recording is never held in memory whole."""
        yield b"["
        first = True
        for name in names:
            events = blob_events_json(self.read(name))
            if events == b"[]":
                continue
            if not first:
                yield b","
            first = False
            yield events[1:-1]  # the elements, without the array's brackets
        yield b"]"

    def delete_session(self, site_id: str, session_id: str) -> int:
        """Remove one recording's blobs; how many there were."""
        return sum(self.destination.delete(name) for name in self.chunk_names(site_id, session_id))

    def delete_site(self, site_id: str) -> int:
        """Remove every recording of a site; how many blobs there were."""
        names = self.destination.list(site_prefix(site_id))
        return sum(self.destination.delete(name) for name in names)

    def sessions(self) -> Iterator[tuple[str, str, list[str]]]:
        """Every stored recording as (site id, session id, blob names), for sweeps."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for name in self.destination.list(REPLAYS_FOLDER):
            parts = name.split("/")
            if len(parts) != 4 or not name.endswith(BLOB_SUFFIX):
                continue
            _, site_part, session_part, _ = parts
            if site_part.startswith("site=") and session_part.startswith("session="):
                key = (site_part.removeprefix("site="), session_part.removeprefix("session="))
                grouped.setdefault(key, []).append(name)
        for (site_id, session_id), names in sorted(grouped.items()):
            yield site_id, session_id, names

    def __repr__(self) -> str:
        return f"ReplayBlobStore({self.url!r})"
