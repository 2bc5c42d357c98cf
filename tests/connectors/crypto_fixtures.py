"""Deterministic key stores and ciphers over a local folder, for the encryption tests."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from connectors.archive.destinations import FsspecDestination
from connectors.crypto import ArchiveCipher, KeyStore, LocalMasterKey

WALL = datetime(2030, 6, 1, 12, tzinfo=UTC)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_bytes(seed: int = 1) -> Callable[[int], bytes]:
    """A ``secrets.token_bytes`` stand-in that repeats for a seed."""
    return random.Random(seed).randbytes


def local_store(
    root: Path, *, seed: int = 1, cache_seconds: float = 0.0, clock: Clock | None = None
) -> KeyStore:
    random_bytes = token_bytes(seed)
    return KeyStore(
        FsspecDestination(str(root / "archive")),
        LocalMasterKey(root / "secrets" / "master.key", token_bytes=random_bytes),
        prefix="keys",
        token_bytes=random_bytes,
        clock=clock or Clock(),
        wall_clock=lambda: WALL,
        cache_seconds=cache_seconds,
        actor="test",
    )


def local_cipher(root: Path, *, seed: int = 1, cache_seconds: float = 0.0) -> ArchiveCipher:
    store = local_store(root, seed=seed, cache_seconds=cache_seconds)
    return ArchiveCipher(store, token_bytes=token_bytes(seed + 1000))
