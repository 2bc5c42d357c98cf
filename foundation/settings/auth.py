"""Settings of the query API's bearer tokens (JWT): algorithms, keys, audience, issuer.

The keys are read and checked when the settings load, so a wrong key stops the process
at start naming its variable. Reading a key is therefore part of the settings: the PEM
parsing and the check that a key fits the algorithms' family live here, and the token
verifier and signer use the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Self

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from pydantic import BaseModel, BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from foundation.settings.common import split_csv

# Algorithm families: a deployment verifies with one kind of key only, so a token can
# never make a public key act as an HMAC secret (the classic RS/HS confusion).
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512"})
EDDSA_ALGORITHMS = frozenset({"EdDSA"})
SUPPORTED_ALGORITHMS = HMAC_ALGORITHMS | RSA_ALGORITHMS | EC_ALGORITHMS | EDDSA_ALGORITHMS

# An HMAC secret shorter than the hash output weakens the MAC (RFC 7518 section 3.2).
MIN_HMAC_SECRET_CHARS = 32
_PEM_START = "-----BEGIN"

_KEY_TYPES: Final[tuple[tuple[frozenset[str], tuple[type, ...], str], ...]] = (
    (RSA_ALGORITHMS, (rsa.RSAPublicKey, rsa.RSAPrivateKey), "an RSA key"),
    (EC_ALGORITHMS, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey), "an EC key"),
    (
        EDDSA_ALGORITHMS,
        (
            ed25519.Ed25519PublicKey,
            ed448.Ed448PublicKey,
            ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey,
        ),
        "an Ed25519 or Ed448 key",
    ),
)


def read_key_text(value: str) -> str:
    """A PEM given inline, or the contents of the file the value names."""
    if value.lstrip().startswith(_PEM_START):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError("is neither a PEM key nor the path of a key file")
    return path.read_text()


def _check_key_type(key: Any, algorithms: Iterable[str]) -> None:
    wanted = set(algorithms)
    for family, types, description in _KEY_TYPES:
        if wanted & family and not isinstance(key, types):
            raise ValueError(f"{', '.join(sorted(wanted))} needs {description}")


def load_public_key(pem: str, algorithms: Sequence[str]) -> Any:
    """The public key object of a PEM text, checked against the algorithms' family."""
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise ValueError("is not a PEM public key") from None
    _check_key_type(key, algorithms)
    return key


def load_private_key(pem: str, algorithms: Sequence[str]) -> Any:
    """The private key object of an unencrypted PEM text, checked like the public one."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("is not an unencrypted PEM private key") from None
    _check_key_type(key, algorithms)
    return key


class JWTSettings(BaseModel):
    """The bearer tokens' section of :class:`foundation.settings.Settings`."""

    jwt_algorithms: Annotated[list[str], NoDecode, BeforeValidator(split_csv)] = Field(
        default_factory=lambda: ["HS256"],
        description="Accepted signature algorithms, one family: HS256/384/512, RS*/PS*, "
        "ES* or EdDSA. Never taken from a token.",
    )
    jwt_secret: SecretStr | None = Field(default=None, description="HMAC secret (HS*).")
    jwt_public_key: str = Field(
        default="", description="PEM public key, or its file path (RS*, PS*, ES*, EdDSA)."
    )
    jwt_private_key: str = Field(
        default="",
        description="PEM private key, or its file path; only `insightlite token create` "
        "needs it (asymmetric algorithms).",
    )
    jwt_audience: str = Field(default="insightlite-api", min_length=1)
    jwt_issuer: str = Field(default="insightlite", min_length=1)
    jwt_leeway_seconds: int = Field(
        default=30, ge=0, le=600, description="Clock skew allowed on exp, nbf and iat."
    )

    @field_validator("jwt_algorithms")
    @classmethod
    def _algorithms_known(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one algorithm")
        for algorithm in value:
            if algorithm not in SUPPORTED_ALGORITHMS:
                raise ValueError(
                    f"{algorithm!r} is not supported; use one of "
                    + ", ".join(sorted(SUPPORTED_ALGORITHMS))
                )
        families = {
            name
            for name, members in (
                ("HMAC", HMAC_ALGORITHMS),
                ("RSA", RSA_ALGORITHMS),
                ("EC", EC_ALGORITHMS),
                ("EdDSA", EDDSA_ALGORITHMS),
            )
            if members & set(value)
        }
        if len(families) > 1:
            raise ValueError(
                "mixes algorithm families (" + ", ".join(sorted(families)) + "); one key "
                "type per deployment keeps a public key from being used as an HMAC secret"
            )
        return value

    @field_validator("jwt_public_key", "jwt_private_key")
    @classmethod
    def _key_readable(cls, value: str) -> str:
        return read_key_text(value) if value else value

    @model_validator(mode="after")
    def _keys_match_algorithms(self) -> Self:
        algorithms = set(self.jwt_algorithms)
        if algorithms <= HMAC_ALGORITHMS:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if secret and len(secret) < MIN_HMAC_SECRET_CHARS:
                raise ValueError(
                    f"jwt_secret: must be at least {MIN_HMAC_SECRET_CHARS} characters for HS*"
                )
            return self
        if not self.jwt_public_key:
            raise ValueError("jwt_public_key: required by " + ", ".join(sorted(algorithms)))
        try:
            load_public_key(self.jwt_public_key, self.jwt_algorithms)
        except ValueError as exc:
            raise ValueError(f"jwt_public_key: {exc}") from None
        return self
