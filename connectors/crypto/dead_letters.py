"""Dead-letter records with their payload encrypted.

The record keeps in clear what routing, counting and erasure need (stage, reasons,
processor, source, offset, site_id, session_id, received_at, failed_at); the payload
becomes ``payload_encrypted``: the base64 of an encrypted object (see
``connectors.crypto.envelope``) of the record's site, or of the system-wide key when
the record has no valid site id. A site id that is not a valid one is what failed and
may hold anything: it is encrypted with the payload, and ``site_id`` is null in clear.
The object's name is made of the clear fields, so a payload moved to another record
does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

import orjson

from connectors.crypto.cipher import ArchiveCipher
from connectors.crypto.envelope import (
    SYSTEM_OWNER,
    DecryptionFailed,
    KeyDestroyed,
    NoKeyConfigured,
)
from connectors.crypto.keystore import key_owner

ENCRYPTED_FIELD: Final = "payload_encrypted"
SHREDDED_FIELD: Final = "payload_shredded"
_NAMED_BY: Final = ("stage", "source", "offset", "site_id", "session_id", "received_at")


def dead_letter_object_name(record: Mapping[str, Any]) -> str:
    """The name a record's payload is encrypted under: its clear identifying fields."""
    return "dead_letter:" + orjson.dumps([record.get(field) for field in _NAMED_BY]).decode()


def seal_dead_letter(cipher: ArchiveCipher, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with ``payload`` replaced by ``payload_encrypted``; a record already
    sealed (or without a payload) is returned as a copy."""
    sealed = dict(record)
    if "payload" not in sealed:
        return sealed
    secret: dict[str, Any] = {"payload": sealed.pop("payload")}
    owner = key_owner(sealed.get("site_id"))
    if owner == SYSTEM_OWNER and sealed.get("site_id") is not None:
        secret["site_id"] = sealed["site_id"]
        sealed["site_id"] = None
    plaintext = orjson.dumps(secret, option=orjson.OPT_NON_STR_KEYS)
    data = cipher.encrypt(owner, dead_letter_object_name(sealed), plaintext)
    sealed[ENCRYPTED_FIELD] = base64.b64encode(data).decode("ascii")
    return sealed


def open_dead_letter(
    cipher: ArchiveCipher | None, record: Mapping[str, Any], *, skip_shredded: bool = False
) -> dict[str, Any]:
    """The record with its payload in clear again. A record never encrypted is returned
    as a copy. KeyDestroyed when its site's key was shredded (with ``skip_shredded``:
    the clear fields and ``payload_shredded: true`` instead)."""
    opened = dict(record)
    if ENCRYPTED_FIELD not in opened:
        return opened
    encoded = opened.pop(ENCRYPTED_FIELD)
    if cipher is None:
        raise NoKeyConfigured(
            "this dead letter's payload is encrypted and encryption is turned off here "
            "(INSIGHTLITE_CRYPTO_ENABLED=false)"
        )
    try:
        data = base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionFailed("a dead letter's payload_encrypted is not base64") from None
    try:
        plaintext = cipher.decrypt(
            key_owner(opened.get("site_id")), dead_letter_object_name(opened), data
        )
    except KeyDestroyed:
        if not skip_shredded:
            raise
        opened[SHREDDED_FIELD] = True
        return opened
    secret = orjson.loads(plaintext)
    opened["payload"] = secret["payload"]
    if "site_id" in secret:
        opened["site_id"] = secret["site_id"]
    return opened
