"""Encrypting and decrypting archive objects with their owner's data key."""

from __future__ import annotations

from connectors.crypto.envelope import TokenBytes, is_encrypted, open_sealed, read_header, seal
from connectors.crypto.keystore import KeyStore


class ArchiveCipher:
    """Envelope encryption of archive objects: AES-256-GCM under the owner's current
    data key, a random nonce per object, the owner and the object's name as associated
    data; decryption finds the key version each object names in its header."""

    def __init__(self, keys: KeyStore, *, token_bytes: TokenBytes) -> None:
        self.keys = keys
        self._token_bytes = token_bytes

    def encrypt(self, owner: str, name: str, plaintext: bytes) -> bytes:
        data_key = self.keys.current(owner)
        return seal(
            data_key.key,
            data_key.version,
            data_key.key_id,
            owner,
            name,
            plaintext,
            self._token_bytes,
        )

    def decrypt(self, owner: str, name: str, data: bytes) -> bytes:
        """The plaintext; KeyDestroyed when the owner's key was shredded,
        DecryptionFailed when the bytes are not this owner's intact object ``name``."""
        header = read_header(data)
        key = self.keys.key(owner, header.key_version, header.key_id)
        return open_sealed(key, owner, name, data)

    @staticmethod
    def is_encrypted(data: bytes) -> bool:
        return is_encrypted(data)

    def __repr__(self) -> str:
        return f"ArchiveCipher({self.keys!r})"
