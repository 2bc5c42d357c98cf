"""Daily keys as files in a local directory (embedded mode): one ``<day>.key`` per day.

A key file is created with O_CREAT|O_EXCL and mode 0600 and written completely before
it is linked under its name (write to a private temporary file, then ``os.link``, which
fails if the name exists): a concurrent reader never sees a partial key, and two
creators agree on the first one linked.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from connectors.visitor_keys import (
    KEY_BYTES,
    KeyStoreUnavailable,
    RandomBytes,
    destroy_at_ms,
)

KEY_FILE_RE = re.compile(r"(\d{1,7})\.key")


class DirectoryKeyStore:
    def __init__(self, directory: str | Path, retention_hours: int, random_bytes: RandomBytes):
        self.directory = Path(directory)
        self.retention_hours = retention_hours
        self.random_bytes = random_bytes

    def path(self, day: int) -> Path:
        return self.directory / f"{day}.key"

    def get_or_create(self, day: int) -> bytes:
        try:
            return self._read(day)
        except FileNotFoundError:
            pass
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = self.random_bytes(KEY_BYTES)
            if len(key) != KEY_BYTES:
                raise KeyStoreUnavailable(f"randomness gave {len(key)} bytes, not {KEY_BYTES}")
            temporary = self.directory / f".{day}.{os.getpid()}.{key[:4].hex()}.tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
                    handle.flush()
                    os.fsync(handle.fileno())
                # Another process may have created it first: then its key is used.
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, self.path(day))
            finally:
                temporary.unlink(missing_ok=True)
            return self._read(day)
        except OSError as exc:
            raise KeyStoreUnavailable(f"visitor key directory {self.directory}: {exc}") from exc

    def _read(self, day: int) -> bytes:
        try:
            key = self.path(day).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise KeyStoreUnavailable(f"visitor key directory {self.directory}: {exc}") from exc
        if len(key) != KEY_BYTES:
            raise KeyStoreUnavailable(f"visitor key of day {day} is {len(key)} bytes")
        return key

    def days(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = (KEY_FILE_RE.fullmatch(path.name) for path in self.directory.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def sweep(self, now_ms: int) -> list[int]:
        destroyed = []
        try:
            for day in self.days():
                if destroy_at_ms(day, self.retention_hours) <= now_ms:
                    path = self.path(day)
                    # Overwrite before unlinking: the bytes do not linger in a free block
                    # of the file as it was (best effort on journaling/copy-on-write disks).
                    with path.open("r+b") as handle:
                        handle.write(b"\0" * KEY_BYTES)
                        handle.flush()
                        os.fsync(handle.fileno())
                    path.unlink(missing_ok=True)
                    destroyed.append(day)
        except OSError as exc:
            raise KeyStoreUnavailable(f"visitor key directory {self.directory}: {exc}") from exc
        return destroyed
