"""The encrypted object format: a small header, then AES-256-GCM ciphertext.

    offset  size  field
    0       5     magic ``ILENC``
    5       1     format version (1)
    6       4     data-key version, big-endian
    10      8     data-key id (random, tells two keys of one version apart)
    18      12    nonce (random, unique per object)
    30      ...   ciphertext and its 16-byte tag

The associated data binds a ciphertext to its key owner (a site, or the system key)
and its object name: the same bytes moved to another site or renamed fail to open.
The header itself is authenticated too (it is part of the associated data).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC: Final = b"ILENC"
FORMAT_VERSION: Final = 1
KEY_BYTES: Final = 32
KEY_ID_BYTES: Final = 8
NONCE_BYTES: Final = 12
_HEADER: Final = struct.Struct(">5sBI8s12s")
HEADER_BYTES: Final = _HEADER.size

TokenBytes = Callable[[int], bytes]


class CryptoError(Exception):
    """An encrypted object cannot be opened (base class of the typed errors)."""


class KeyDestroyed(CryptoError):
    """The data key an object was encrypted with no longer exists (crypto-shredded)."""

    def __init__(self, owner: str) -> None:
        super().__init__(
            f"the data key of {describe_owner(owner)} was destroyed: "
            "this object can no longer be read"
        )
        self.owner = owner


class DecryptionFailed(CryptoError):
    """The bytes are not an intact object of this owner and name (tampered, moved,
    truncated, or encrypted under another master key)."""


class NoKeyConfigured(CryptoError):
    """An encrypted object was read by a process with encryption turned off."""


SYSTEM_OWNER: Final = "*system*"


def describe_owner(owner: str) -> str:
    return "the system-wide key" if owner == SYSTEM_OWNER else f"site {owner}"


@dataclass(frozen=True)
class Header:
    key_version: int
    key_id: bytes
    nonce: bytes


def is_encrypted(data: bytes) -> bool:
    return data[: len(MAGIC)] == MAGIC


def read_header(data: bytes) -> Header:
    if len(data) < HEADER_BYTES + 16 or not is_encrypted(data):
        raise DecryptionFailed("not an encrypted object (no header, or cut short)")
    _magic, version, key_version, key_id, nonce = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise DecryptionFailed(f"unknown encrypted object format version {version}")
    return Header(key_version, key_id, nonce)


def associated_data(owner: str, name: str, header: bytes) -> bytes:
    # JSON keeps the parts apart whatever characters they hold.
    return orjson.dumps([owner, name]) + header


def seal(
    key: bytes,
    key_version: int,
    key_id: bytes,
    owner: str,
    name: str,
    plaintext: bytes,
    token_bytes: TokenBytes,
) -> bytes:
    """``plaintext`` encrypted under ``key`` with a fresh random nonce."""
    nonce = token_bytes(NONCE_BYTES)
    if len(nonce) != NONCE_BYTES:
        raise ValueError("token_bytes returned a nonce of the wrong size")
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, key_version, key_id, nonce)
    aad = associated_data(owner, name, header)
    return header + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, owner: str, name: str, data: bytes) -> bytes:
    """The plaintext of ``data``; DecryptionFailed when it is not intact or not this
    owner's object of this name."""
    header = read_header(data)
    aad = associated_data(owner, name, data[:HEADER_BYTES])
    try:
        return AESGCM(key).decrypt(header.nonce, data[HEADER_BYTES:], aad)
    except InvalidTag:
        raise DecryptionFailed(
            f"object {name!r} of {describe_owner(owner)} failed authentication: "
            "tampered, moved from another site or name, or not ours"
        ) from None
