"""Master keys: what wraps (encrypts) the per-site data keys.

- :class:`LocalMasterKey`, the embedded mode's: a key file created on first use with
  mode 0600, holding the current master key and, during a rotation, the previous ones.
- :class:`KmsMasterKey`, production's: AWS KMS ``Encrypt``/``Decrypt`` with an
  encryption context naming the data key's owner (site), version and id, so a wrapped
  key copied to another site's record does not unwrap, and CloudTrail shows which
  site's key was used. The master key material never leaves KMS.

A wrapped data key is a mapping ``{"master", "master_key_id", "wrapped_key"}``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from connectors.crypto.envelope import (
    KEY_BYTES,
    NONCE_BYTES,
    CryptoError,
    DecryptionFailed,
    TokenBytes,
)

LOCAL = "local"
KMS = "kms"
_MASTER_ID_BYTES = 8


class KeyServiceUnavailable(ConnectionError):
    """The master key service cannot be reached now (an infrastructure failure: retried
    by the sinks, 503 at the API)."""


class MasterKey(Protocol):
    kind: str

    @property
    def current_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> dict[str, str]: ...

    def unwrap(self, wrapped: Mapping[str, Any], context: Mapping[str, str]) -> bytes: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise DecryptionFailed("a wrapped data key is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise DecryptionFailed("a wrapped data key is not base64 text") from None


class LocalMasterKey:
    """Master keys in a local file (JSON ``{"current": id, "keys": {id: base64}}``, 0600).

    The file is created on first use; two processes creating it at once end with one
    file (the second adopts the first's), because it appears by a hard link, which
    fails when the name exists.
    """

    kind = LOCAL

    def __init__(self, path: Path, *, token_bytes: TokenBytes) -> None:
        self.path = Path(path)
        self._token_bytes = token_bytes
        self._keys: dict[str, bytes] = {}
        self._current = ""

    def _load(self) -> None:
        if self._current:
            return
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self._create()
            raw = self.path.read_bytes()
        self._parse(raw)

    def _parse(self, raw: bytes) -> None:
        try:
            document = orjson.loads(raw)
            keys = {str(kid): _unb64(value) for kid, value in document["keys"].items()}
            current = str(document["current"])
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, DecryptionFailed):
            raise CryptoError(f"master key file {self.path} is damaged") from None
        if current not in keys or any(len(key) != KEY_BYTES for key in keys.values()):
            raise CryptoError(f"master key file {self.path} is damaged")
        self._keys, self._current = keys, current

    def _document(self, keys: Mapping[str, bytes], current: str) -> bytes:
        return orjson.dumps({"current": current, "keys": {k: _b64(v) for k, v in keys.items()}})

    def _write_private(self, data: bytes, *, exclusive: bool) -> None:
        """Write the file with mode 0600 from its first byte, atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".master.")
        try:
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if exclusive:
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, self.path)
            else:
                os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def _create(self) -> None:
        key_id = self._token_bytes(_MASTER_ID_BYTES).hex()
        key = self._token_bytes(KEY_BYTES)
        self._write_private(self._document({key_id: key}, key_id), exclusive=True)

    @property
    def current_id(self) -> str:
        self._load()
        return self._current

    @property
    def key_ids(self) -> list[str]:
        self._load()
        return sorted(self._keys)

    def rotate(self) -> str:
        """Add a new master key and make it current; the old ones stay until
        :meth:`retire` (after every data key was re-wrapped). Returns its id."""
        self._load()
        key_id = self._token_bytes(_MASTER_ID_BYTES).hex()
        keys = {**self._keys, key_id: self._token_bytes(KEY_BYTES)}
        self._write_private(self._document(keys, key_id), exclusive=False)
        self._keys, self._current = keys, key_id
        return key_id

    def retire(self) -> list[str]:
        """Forget every master key but the current one; the ids forgotten."""
        self._load()
        old = sorted(kid for kid in self._keys if kid != self._current)
        if old:
            keys = {self._current: self._keys[self._current]}
            self._write_private(self._document(keys, self._current), exclusive=False)
            self._keys = keys
        return old

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> dict[str, str]:
        self._load()
        nonce = self._token_bytes(NONCE_BYTES)
        aad = orjson.dumps(dict(context), option=orjson.OPT_SORT_KEYS)
        sealed = AESGCM(self._keys[self._current]).encrypt(nonce, data_key, aad)
        return {
            "master": LOCAL,
            "master_key_id": self._current,
            "wrapped_key": _b64(nonce + sealed),
        }

    def unwrap(self, wrapped: Mapping[str, Any], context: Mapping[str, str]) -> bytes:
        self._load()
        master = self._keys.get(str(wrapped.get("master_key_id")))
        if wrapped.get("master") != LOCAL or master is None:
            raise DecryptionFailed(
                f"data key of {context.get('site')} is wrapped by a master key this key "
                f"file does not hold ({wrapped.get('master')}:{wrapped.get('master_key_id')})"
            )
        blob = _unb64(wrapped.get("wrapped_key"))
        aad = orjson.dumps(dict(context), option=orjson.OPT_SORT_KEYS)
        try:
            return AESGCM(master).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionFailed(
                f"a wrapped data key of {context.get('site')} failed authentication"
            ) from None

    def __repr__(self) -> str:
        return f"LocalMasterKey({str(self.path)!r})"


class KmsMasterKey:
    """Data keys wrapped by AWS KMS: ``kms.encrypt``/``kms.decrypt``, with an encryption
    context. ``client_factory`` builds the boto3 KMS client (on first use)."""

    kind = KMS

    def __init__(self, key_id: str, client_factory: Callable[[], Any]) -> None:
        self.key_id = key_id
        self._client_factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    @property
    def current_id(self) -> str:
        return self.key_id

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> dict[str, str]:
        answer = self._request(
            "encrypt", KeyId=self.key_id, Plaintext=data_key, EncryptionContext=dict(context)
        )
        return {
            "master": KMS,
            # The key's ARN as KMS answers it: an alias may later point elsewhere.
            "master_key_id": str(answer.get("KeyId") or self.key_id),
            "wrapped_key": _b64(answer["CiphertextBlob"]),
        }

    def unwrap(self, wrapped: Mapping[str, Any], context: Mapping[str, str]) -> bytes:
        if wrapped.get("master") != KMS:
            raise DecryptionFailed(
                f"data key of {context.get('site')} is wrapped by a {wrapped.get('master')} "
                "master key, not KMS"
            )
        answer = self._request(
            "decrypt",
            CiphertextBlob=_unb64(wrapped.get("wrapped_key")),
            KeyId=str(wrapped.get("master_key_id")),
            EncryptionContext=dict(context),
        )
        plaintext: bytes = answer["Plaintext"]
        return plaintext

    def _request(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        try:
            answer: dict[str, Any] = getattr(self.client, operation)(**params)
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) as exc:
            raise KeyServiceUnavailable(f"AWS KMS {operation} failed: {exc}") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"InvalidCiphertextException", "IncorrectKeyException"}:
                raise DecryptionFailed(f"AWS KMS refused the wrapped data key: {code}") from None
            if code in {
                "KMSInternalException",
                "ThrottlingException",
                "DependencyTimeoutException",
            }:
                raise KeyServiceUnavailable(f"AWS KMS {operation} failed: {code}") from None
            raise
        return answer

    def __repr__(self) -> str:
        return f"KmsMasterKey({self.key_id!r})"


def kms_client_factory(region: str) -> Callable[[], Any]:
    """A factory of boto3 KMS clients with short timeouts (credentials come from the
    environment: the worker's or the API's IAM role)."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3})
        return boto3.client("kms", region_name=region or None, config=config)

    return build
