"""Envelope encryption of the archive's personal objects: dead-letter payloads and
session recordings.

Each site has random 256-bit data keys (AES-256-GCM, a random 96-bit nonce per object,
the site and the object's name as associated data), in numbered versions; they are
stored wrapped by a master key (a local key file embedded, AWS KMS in production)
beside the archive. Rotation adds a version for new objects; master-key rotation
re-wraps the data keys only; destroying a site's data keys (crypto-shredding) makes
every encrypted object of the site unreadable: readers raise :class:`KeyDestroyed`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from connectors.archive.destinations import FsspecDestination
from connectors.crypto.cipher import ArchiveCipher
from connectors.crypto.dead_letters import (
    ENCRYPTED_FIELD,
    SHREDDED_FIELD,
    dead_letter_object_name,
    open_dead_letter,
    seal_dead_letter,
)
from connectors.crypto.envelope import (
    SYSTEM_OWNER,
    CryptoError,
    DecryptionFailed,
    KeyDestroyed,
    NoKeyConfigured,
    TokenBytes,
    is_encrypted,
)
from connectors.crypto.keystore import DataKey, KeyStore, key_owner
from connectors.crypto.masters import (
    KeyServiceUnavailable,
    KmsMasterKey,
    LocalMasterKey,
    MasterKey,
    kms_client_factory,
)
from foundation.settings import Settings

__all__ = [
    "ENCRYPTED_FIELD",
    "SHREDDED_FIELD",
    "SYSTEM_OWNER",
    "ArchiveCipher",
    "CryptoConfig",
    "CryptoError",
    "DataKey",
    "DecryptionFailed",
    "KeyDestroyed",
    "KeyServiceUnavailable",
    "KeyStore",
    "KmsMasterKey",
    "LocalMasterKey",
    "MasterKey",
    "NoKeyConfigured",
    "archive_cipher",
    "dead_letter_object_name",
    "is_encrypted",
    "key_owner",
    "key_store",
    "open_dead_letter",
    "seal_dead_letter",
    "site_key_destroyer",
]


# What the factories read: the process's settings (the crypto section, the data dir and
# the archive's location).
CryptoConfig = Settings


def master_key(
    settings: CryptoConfig, *, token_bytes: TokenBytes = secrets.token_bytes
) -> MasterKey:
    if settings.crypto_master == "kms":
        return KmsMasterKey(
            settings.crypto_kms_key_id, kms_client_factory(settings.crypto_kms_region)
        )
    path = settings.crypto_master_key_file or str(settings.data_dir / "secrets" / "master.key")
    return LocalMasterKey(Path(path), token_bytes=token_bytes)


def key_store(
    settings: CryptoConfig,
    *,
    actor: str = "worker",
    token_bytes: TokenBytes = secrets.token_bytes,
) -> KeyStore:
    """The data keys as the settings place them (nothing is read or created yet)."""
    if settings.crypto_keys_url:
        destination, prefix = FsspecDestination(settings.crypto_keys_url), ""
    else:
        destination, prefix = FsspecDestination(settings.resolved_archive_url), "keys"
    return KeyStore(
        destination,
        master_key(settings, token_bytes=token_bytes),
        prefix=prefix,
        token_bytes=token_bytes,
        clock=time.monotonic,
        cache_seconds=settings.crypto_key_cache_seconds,
        actor=actor,
    )


def archive_cipher(
    settings: CryptoConfig,
    *,
    actor: str = "worker",
    token_bytes: TokenBytes = secrets.token_bytes,
) -> ArchiveCipher | None:
    """The cipher of this process's archive objects; None when encryption is off."""
    if not settings.crypto_enabled:
        return None
    return ArchiveCipher(
        key_store(settings, actor=actor, token_bytes=token_bytes), token_bytes=token_bytes
    )


def site_key_destroyer(settings: CryptoConfig, *, actor: str) -> Callable[[str], int]:
    """What a site erasure calls to crypto-shred the site: destroys every data-key
    version of the site and returns how many. Wired whether encryption is on or not, as
    keys written while it was on still open the site's older objects."""
    return key_store(settings, actor=actor).shred
