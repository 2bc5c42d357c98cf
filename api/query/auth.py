"""Bearer JWTs: who may read which sites, with what, and at which rate tier.

A token is accepted only when

- its ``alg`` header is one of the algorithms the settings name (a token never chooses
  its own algorithm, so ``none`` and HS/RS key confusion are refused before any
  signature check);
- its signature verifies with the one configured key (an HMAC secret for HS*, a public
  key object for the others: PyJWT refuses to use a PEM key as an HMAC secret, and the
  settings forbid mixing families);
- ``exp``, ``iat``, ``sub``, ``aud`` and ``iss`` are present, ``aud`` and ``iss`` are the
  configured ones; ``exp``, ``iat`` and ``nbf`` (when present) are integer Unix seconds
  between 0 and 2^32 (``1e300``, ``Infinity`` or ``1.5`` are refused), ``exp`` is in the
  future, and ``iat`` and ``nbf`` are not in the future, each within
  ``jwt_leeway_seconds``, measured by an injected clock;
- ``sites`` is a list of site ids, ``permissions`` a list of strings and ``tier`` one of
  free, pro, enterprise.

Failures raise :class:`AuthError` with a short, fixed description (no library text).

The rate limiter counts a token under its verified claims, never its text: the same
token with extra base64 padding, or an ECDSA signature re-encoded by a third party
(``s`` and ``n - s`` both verify), is the same bucket.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, get_args

import jwt

from foundation.settings import SITE_ID_PATTERN, TIERS, ConfigError, Settings, Tier
from foundation.settings.auth import HMAC_ALGORITHMS, load_private_key, load_public_key

Clock = Callable[[], float]

PERMISSION_STATS = "stats:read"
PERMISSION_SESSIONS = "sessions:read"
PERMISSION_HEATMAPS = "heatmaps:read"
PERMISSION_EXPORT = "export:write"
PERMISSION_REPLAY_READ = "replay:read"
PERMISSION_REPLAY_DELETE = "replay:delete"
PERMISSION_LIVE = "live:read"
# Erase a session or a whole site from every store (api.query.erasure_routes).
PERMISSION_DATA_ERASE = "data:erase"
PERMISSIONS: Final = (
    PERMISSION_STATS,
    PERMISSION_SESSIONS,
    PERMISSION_HEATMAPS,
    PERMISSION_EXPORT,
    PERMISSION_REPLAY_READ,
    PERMISSION_REPLAY_DELETE,
    PERMISSION_LIVE,
    PERMISSION_DATA_ERASE,
)

REQUIRED_CLAIMS: Final = ("exp", "iat", "sub", "aud", "iss")
# Far beyond any real token; refusing bigger ones early bounds the work a request costs.
MAX_TOKEN_CHARS: Final = 8192
MAX_SITES_PER_TOKEN: Final = 1000
VERIFIED_TOKENS_KEPT: Final = 10_000
# Matched with fullmatch: "$" alone would let a trailing newline through.
_SUBJECT = re.compile(r"[\x21-\x7e]{1,200}")
_TOKEN_ID = re.compile(r"[\x21-\x7e]{1,200}")
# Time claims are integer Unix seconds up to 2106: a float such as 1e300 or Infinity
# would make a token that never expires.
MAX_TIME_CLAIM: Final = 2**32


class AuthError(Exception):
    """The request carries no acceptable token (HTTP 401)."""

    def __init__(self, description: str, *, missing: bool = False) -> None:
        super().__init__(description)
        self.description = description
        # RFC 6750: a request without credentials gets no error code in the challenge.
        self.missing = missing


class AccessDenied(Exception):
    """The token is valid but does not grant this site or permission (HTTP 403)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """The verified holder of a token."""

    subject: str
    sites: frozenset[str]
    permissions: frozenset[str]
    tier: Tier
    token_id: str | None
    expires_at: float
    # The later of iat and nbf: before it (less the leeway) the token is not valid yet.
    valid_from: float
    # What the rate limiter counts under: sub + jti, or sub + iat + a hash of the
    # verified claims; never the token's text.
    rate_key: str

    def require(self, site: str, permission: str) -> None:
        """Raise :class:`AccessDenied` unless ``site`` and ``permission`` are granted."""
        if site not in self.sites:
            raise AccessDenied("site not granted by this token")
        if permission not in self.permissions:
            raise AccessDenied(f"permission {permission} not granted by this token")


def _is_time(value: Any) -> bool:
    """An integer Unix time in range (bool is an int in Python, and not a time)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TIME_CLAIM


def _string_list(value: Any, claim: str, limit: int) -> list[str]:
    if not isinstance(value, list) or len(value) > limit:
        raise AuthError(f"claim {claim} must be a list")
    if not all(isinstance(item, str) for item in value):
        raise AuthError(f"claim {claim} must be a list of strings")
    return list(value)


class TokenVerifier:
    """Checks bearer tokens against one key, fixed algorithms, audience and issuer."""

    def __init__(
        self,
        *,
        algorithms: Sequence[str],
        key: Any,
        audience: str,
        issuer: str,
        leeway_seconds: float = 30.0,
        clock: Clock = time.time,
    ) -> None:
        if not algorithms:
            raise ValueError("at least one algorithm is needed")
        self._algorithms = list(algorithms)
        self._key = key
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway_seconds
        self._clock = clock
        # Tokens already verified, so a client's next requests skip the signature and
        # claim parsing (a fifth of a cached answer's cost); time claims are still
        # checked on every request.
        self._verified: OrderedDict[str, Principal] = OrderedDict()
        self._verified_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = time.time) -> TokenVerifier:
        """The verifier the settings describe; ConfigError names a missing key."""
        algorithms = settings.jwt_algorithms
        key: Any
        if set(algorithms) <= HMAC_ALGORITHMS:
            if settings.jwt_secret is None:
                raise ConfigError(
                    "invalid settings:\n  INSIGHTLITE_JWT_SECRET: required by "
                    + ", ".join(algorithms)
                )
            key = settings.jwt_secret.get_secret_value().encode()
        else:
            key = load_public_key(settings.jwt_public_key, algorithms)
        return cls(
            algorithms=algorithms,
            key=key,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway_seconds=settings.jwt_leeway_seconds,
            clock=clock,
        )

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`AuthError` otherwise."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise AuthError("malformed token")
        with self._verified_lock:
            known = self._verified.get(token)
            if known is not None:
                self._verified.move_to_end(token)
        if known is not None:
            self._check_window(known.expires_at, known.valid_from)
            return known
        principal = self._verify_new(token)
        with self._verified_lock:
            self._verified[token] = principal
            while len(self._verified) > VERIFIED_TOKENS_KEPT:
                self._verified.popitem(last=False)
        return principal

    def _check_window(self, expires_at: float, valid_from: float) -> None:
        now = self._clock()
        if expires_at <= now - self._leeway:
            raise AuthError("token expired")
        if valid_from > now + self._leeway:
            raise AuthError("token not yet valid")

    def _verify_new(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if header.get("alg") not in self._algorithms:
            raise AuthError("token algorithm not accepted")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    # Time claims are checked below against the injected clock.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.MissingRequiredClaimError:
            raise AuthError("token lacks a required claim") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise AuthError("token audience or issuer not accepted") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token signature not valid") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            # InvalidKeyError, DecodeError, unsupported algorithm for this key, ...
            raise AuthError("token not valid") from None
        return self._principal(claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        expires_at, issued_at = claims["exp"], claims["iat"]
        not_before = claims.get("nbf")
        if not all(_is_time(value) for value in (expires_at, issued_at)) or (
            "nbf" in claims and not _is_time(not_before)
        ):
            raise AuthError("token time claims must be integer Unix seconds")
        valid_from = float(max(issued_at, not_before if not_before is not None else issued_at))
        self._check_window(float(expires_at), valid_from)

        subject = claims["sub"]
        if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
            raise AuthError("claim sub must be a printable string")
        sites = _string_list(claims.get("sites", []), "sites", MAX_SITES_PER_TOKEN)
        if not all(SITE_ID_PATTERN.fullmatch(site) for site in sites):
            raise AuthError("claim sites must hold site ids")
        # Unknown permissions are ignored, so new ones can be issued before every API
        # replica knows them.
        permissions = _string_list(claims.get("permissions", []), "permissions", 100)
        tier = claims.get("tier", "free")
        if tier not in TIERS:
            raise AuthError("claim tier must be free, pro or enterprise")
        token_id = claims.get("jti")
        if token_id is not None and (
            not isinstance(token_id, str) or not _TOKEN_ID.fullmatch(token_id)
        ):
            raise AuthError("claim jti must be a printable string")
        if token_id is not None:
            rate_key = f"sub:{subject}:jti:{token_id}"
        else:
            # The claims as verified, canonically encoded: every spelling of one token
            # (padding, signature encoding) is one bucket.
            canonical = json.dumps(claims, sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
            rate_key = f"sub:{subject}:iat:{issued_at}:claims:{digest}"
        return Principal(
            subject=subject,
            sites=frozenset(sites),
            permissions=frozenset(p for p in permissions if p in PERMISSIONS),
            tier=tier,
            token_id=token_id,
            expires_at=float(expires_at),
            valid_from=valid_from,
            rate_key=rate_key,
        )


@dataclass(frozen=True)
class TokenRequest:
    """What a new token grants."""

    subject: str
    sites: tuple[str, ...]
    permissions: tuple[str, ...]
    tier: Tier
    ttl_seconds: float

    def __post_init__(self) -> None:
        if not _SUBJECT.fullmatch(self.subject):
            raise ValueError("the subject must be 1-200 printable ASCII characters")
        if not self.sites:
            raise ValueError("name at least one site")
        for site in self.sites:
            if not SITE_ID_PATTERN.fullmatch(site):
                raise ValueError(f"{site!r} is not a site id (1-64 of A-Za-z0-9._-)")
        for permission in self.permissions:
            if permission not in PERMISSIONS:
                raise ValueError(
                    f"{permission!r} is not a permission; use " + ", ".join(PERMISSIONS)
                )
        if self.tier not in get_args(Tier):
            raise ValueError(f"{self.tier!r} is not a tier; use " + ", ".join(TIERS))
        if self.ttl_seconds <= 0:
            raise ValueError("the lifetime must be positive")


def signing_key(settings: Settings) -> tuple[str, Any]:
    """(algorithm, key) that new tokens are signed with, from the settings."""
    algorithm = settings.jwt_algorithms[0]
    if algorithm in HMAC_ALGORITHMS:
        if settings.jwt_secret is None:
            raise ConfigError(
                "invalid settings:\n  INSIGHTLITE_JWT_SECRET: required to sign tokens"
            )
        return algorithm, settings.jwt_secret.get_secret_value().encode()
    if not settings.jwt_private_key:
        raise ConfigError(
            "invalid settings:\n  INSIGHTLITE_JWT_PRIVATE_KEY: required to sign " + algorithm
        )
    try:
        return algorithm, load_private_key(settings.jwt_private_key, [algorithm])
    except ValueError as exc:
        raise ConfigError(f"invalid settings:\n  INSIGHTLITE_JWT_PRIVATE_KEY: {exc}") from None


def create_token(
    request: TokenRequest,
    *,
    algorithm: str,
    key: Any,
    audience: str,
    issuer: str,
    clock: Clock = time.time,
) -> str:
    """A signed token granting ``request``, with a random ``jti``."""
    now = int(clock())
    claims = {
        "sub": request.subject,
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + int(request.ttl_seconds),
        "jti": secrets.token_urlsafe(12),
        "sites": list(request.sites),
        "permissions": list(request.permissions),
        "tier": request.tier,
    }
    return jwt.encode(claims, key, algorithm=algorithm)
