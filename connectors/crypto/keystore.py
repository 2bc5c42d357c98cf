"""Per-site data keys, wrapped by a master key, stored beside the archive.

Layout under the key location (by default ``<archive>/keys/``)::

    site=<site id>/v000001-<key id>.json     one file per data-key version
    system/v000001-<key id>.json             the system-wide key (dead letters
                                             whose site id is not a valid one)

A file holds the owner, the version, the key id (random, in the name too), when and by
whom it was made, and the data key wrapped by the master key; never the key in clear.
Two processes that create a site's first key (or rotate) at the same moment both
write a file: the names differ by key id, every object names its key exactly, so both
stay readable; new objects use the highest version (the smallest id among equals).

Unwrapped keys are cached for ``cache_seconds`` (``clock`` is a monotonic time
source passed in): a shred or a rotation made by another process takes effect here
within that time.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from connectors.archive.destinations import FsspecDestination
from connectors.crypto.envelope import (
    KEY_BYTES,
    KEY_ID_BYTES,
    SYSTEM_OWNER,
    DecryptionFailed,
    KeyDestroyed,
    TokenBytes,
    describe_owner,
)
from connectors.crypto.masters import MasterKey
from foundation.settings.common import SITE_ID_PATTERN

log = logging.getLogger("insightlite.keys")

SYSTEM_FOLDER: Final = "system"
_KEY_FILE: Final = re.compile(r"v(\d{6})-([0-9a-f]{16})\.json")


@dataclass(frozen=True)
class DataKey:
    owner: str
    version: int
    key_id: bytes
    key: bytes


def owner_folder(owner: str) -> str:
    if owner == SYSTEM_OWNER:
        return SYSTEM_FOLDER
    if not SITE_ID_PATTERN.fullmatch(owner):
        raise ValueError(f"{owner!r} is not a site id (1-64 of A-Za-z0-9._-)")
    return f"site={owner}"


def key_owner(site_id: object) -> str:
    """The key a site's objects use: its own when ``site_id`` is a valid site id, the
    system-wide one otherwise (a dead letter whose site id is what was wrong)."""
    if isinstance(site_id, str) and SITE_ID_PATTERN.fullmatch(site_id):
        return site_id
    return SYSTEM_OWNER


def _context(owner: str, version: int, key_id: bytes) -> dict[str, str]:
    return {"site": owner, "version": str(version), "key_id": key_id.hex()}


class KeyStore:
    """Create, find, rotate, re-wrap and destroy the data keys (see the module doc)."""

    def __init__(
        self,
        destination: FsspecDestination,
        master: MasterKey,
        *,
        prefix: str = "",
        token_bytes: TokenBytes,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_seconds: float = 60.0,
        actor: str = "worker",
    ) -> None:
        self.destination = destination
        self.master = master
        self._prefix = prefix.strip("/")
        self._token_bytes = token_bytes
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache_seconds = cache_seconds
        self.actor = actor
        self._keys: dict[tuple[str, int, bytes], tuple[bytes, float]] = {}
        self._current: dict[str, tuple[DataKey, float]] = {}

    def _path(self, owner: str, name: str = "") -> str:
        folder = owner_folder(owner)
        parts = [part for part in (self._prefix, folder, name) if part]
        return "/".join(parts)

    def _fresh(self, fetched_at: float) -> bool:
        return self._clock() - fetched_at < self._cache_seconds

    def versions(self, owner: str) -> list[tuple[int, bytes]]:
        """The owner's stored (version, key id), oldest first."""
        folder = self._path(owner)
        found = []
        for path in self.destination.list(folder):
            match = _KEY_FILE.fullmatch(path[len(folder) + 1 :])
            if match:
                found.append((int(match.group(1)), bytes.fromhex(match.group(2))))
        return sorted(found)

    def current(self, owner: str) -> DataKey:
        """The key new objects of ``owner`` use; created (version 1) when it has none."""
        cached = self._current.get(owner)
        if cached is not None and self._fresh(cached[1]):
            return cached[0]
        versions = self.versions(owner)
        if not versions:
            data_key = self._create(owner, 1, "created")
        else:
            top = max(version for version, _ in versions)
            key_id = min(kid for version, kid in versions if version == top)
            data_key = DataKey(owner, top, key_id, self.key(owner, top, key_id))
        self._remember(data_key)
        return data_key

    def _remember(self, data_key: DataKey) -> None:
        now = self._clock()
        self._current[data_key.owner] = (data_key, now)
        self._keys[(data_key.owner, data_key.version, data_key.key_id)] = (data_key.key, now)

    def key(self, owner: str, version: int, key_id: bytes) -> bytes:
        """One data key in clear; KeyDestroyed when it is gone."""
        cache_key = (owner, version, key_id)
        cached = self._keys.get(cache_key)
        if cached is not None and self._fresh(cached[1]):
            return cached[0]
        try:
            raw = self.destination.read_bytes(self._key_path(owner, version, key_id))
        except FileNotFoundError:
            self._keys.pop(cache_key, None)
            raise KeyDestroyed(owner) from None
        key = self.master.unwrap(self._parse(raw, owner), _context(owner, version, key_id))
        if len(key) != KEY_BYTES:
            raise DecryptionFailed(f"the data key of {describe_owner(owner)} is damaged")
        self._keys[cache_key] = (key, self._clock())
        return key

    def _key_path(self, owner: str, version: int, key_id: bytes) -> str:
        return self._path(owner, f"v{version:06d}-{key_id.hex()}.json")

    @staticmethod
    def _parse(raw: bytes, owner: str) -> dict[str, Any]:
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or record.get("owner") != owner:
            raise DecryptionFailed(f"a data-key file of {describe_owner(owner)} is damaged")
        return record

    def _create(self, owner: str, version: int, event: str) -> DataKey:
        key_id = self._token_bytes(KEY_ID_BYTES)
        key = self._token_bytes(KEY_BYTES)
        record = {
            "owner": owner,
            "version": version,
            "key_id": key_id.hex(),
            "created_at": self._wall_clock().isoformat(),
            "created_by": self.actor,
            **self.master.wrap(key, _context(owner, version, key_id)),
        }
        self._write_key_file(owner, version, key_id, record)
        self._audit(event, owner, version=version, key_id=key_id.hex())
        return DataKey(owner, version, key_id, key)

    def _write_key_file(
        self, owner: str, version: int, key_id: bytes, record: dict[str, Any]
    ) -> None:
        written = self.destination.write_bytes(
            self._key_path(owner, version, key_id), orjson.dumps(record)
        )
        if self.destination.is_local:
            # Wrapped, but still nobody else's business.
            os.chmod(written, 0o600)

    def rotate(self, owner: str) -> DataKey:
        """A new data-key version for the owner's new objects; older objects keep
        theirs (nothing is rewritten)."""
        versions = self.versions(owner)
        version = max((v for v, _ in versions), default=0) + 1
        data_key = self._create(owner, version, "rotated")
        self._remember(data_key)
        return data_key

    def shred(self, owner: str) -> int:
        """Destroy every data key of the owner: all its encrypted objects become
        unreadable. Returns how many key versions were destroyed."""
        versions = self.versions(owner)
        destroyed = sum(
            self.destination.delete(self._key_path(owner, version, key_id))
            for version, key_id in versions
        )
        self._current.pop(owner, None)
        for cache_key in [k for k in self._keys if k[0] == owner]:
            del self._keys[cache_key]
        self._audit("shredded", owner, versions=destroyed)
        return destroyed

    def owners(self) -> list[str]:
        """Every owner with at least one stored key."""
        base = self._prefix
        owners = set()
        for path in self.destination.list(base):
            folder = path[len(base) + 1 :] if base else path
            head = folder.split("/", 1)[0]
            if head == SYSTEM_FOLDER:
                owners.add(SYSTEM_OWNER)
            elif head.startswith("site="):
                owners.add(head.removeprefix("site="))
        return sorted(owners)

    def status(self) -> list[dict[str, Any]]:
        """Per owner: versions, the current one, which master keys wrap them (no key)."""
        rows = []
        for owner in self.owners():
            records = [
                self._parse(
                    self.destination.read_bytes(self._key_path(owner, version, key_id)), owner
                )
                for version, key_id in self.versions(owner)
            ]
            rows.append(
                {
                    "site": "(system)" if owner == SYSTEM_OWNER else owner,
                    "versions": len(records),
                    "current_version": max((r["version"] for r in records), default=0),
                    "master_key_ids": sorted({str(r.get("master_key_id")) for r in records}),
                    "newest_created_at": max(
                        (str(r.get("created_at")) for r in records), default=""
                    ),
                }
            )
        return rows

    def rewrap_all(self) -> int:
        """Re-wrap every data key under the master's current key (after a master-key
        rotation); the data keys and so the objects stay as they are. Returns how many
        key files were rewritten."""
        rewrapped = 0
        for owner in self.owners():
            for version, key_id in self.versions(owner):
                path = self._key_path(owner, version, key_id)
                record = self._parse(self.destination.read_bytes(path), owner)
                context = _context(owner, version, key_id)
                key = self.master.unwrap(record, context)
                record.update(self.master.wrap(key, context))
                record["rewrapped_at"] = self._wall_clock().isoformat()
                self._write_key_file(owner, version, key_id, record)
                rewrapped += 1
        self._audit("rewrapped", "*", keys=rewrapped, master_key_id=self.master.current_id)
        return rewrapped

    def _audit(self, event: str, owner: str, **details: Any) -> None:
        # Who, what and when; never key material.
        log.info(
            "data key %s: %s by %s at %s %s",
            event,
            "all sites" if owner == "*" else describe_owner(owner),
            self.actor,
            self._wall_clock().isoformat(),
            " ".join(f"{name}={value}" for name, value in details.items()),
        )

    def __repr__(self) -> str:
        return f"KeyStore({self.destination.url!r}, prefix={self._prefix!r}, {self.master!r})"
