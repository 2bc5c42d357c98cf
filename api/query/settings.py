"""Settings of the query API, read from ``INSIGHTLITE_*`` environment variables.

Kept apart from :mod:`foundation.settings` until the two models are merged; every name
carries a prefix (``api_``, ``jwt_``, ``cache_``, ``webhook_``, ``redis_``) so the merge
cannot clash. Loading validates everything, keys included, and a failure names the
environment variable, as the main settings do.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The pipeline settings' own helpers, so that both models read lists and name the
# offending variable alike.
from foundation.settings import (
    ENV_PREFIX,
    SITE_ID_PATTERN,
    ConfigError,
    check_storage_url,
    setting_name,
    split_csv,
)

Tier = Literal["free", "pro", "enterprise"]
TIERS: tuple[Tier, ...] = ("free", "pro", "enterprise")

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


def parse_webhook_urls(value: Any) -> Any:
    """``"site=url,site2=url"`` as a dict; dicts pass through for the validator."""
    if not isinstance(value, str):
        return value
    urls: dict[str, str] = {}
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        site, separator, url = entry.partition("=")
        if not separator:
            raise ValueError(f"{entry!r} is not site=url")
        urls[site.strip()] = url.strip()
    return urls


def read_key_text(value: str) -> str:
    """A PEM given inline, or the contents of the file the value names."""
    if value.lstrip().startswith(_PEM_START):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError("is neither a PEM key nor the path of a key file")
    return path.read_text()


class APISettings(BaseSettings):
    """Everything the query API needs besides the pipeline's own settings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",  # the environment also holds the pipeline's INSIGHTLITE_* settings
        validate_default=True,
        case_sensitive=False,
    )

    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes.")
    api_clickhouse_pool_size: int = Field(
        default=4, ge=1, le=64, description="ClickHouse clients per process (parallel queries)."
    )
    api_max_range_days: int = Field(
        default=366, ge=1, le=3660, description="Longest date range one request may read."
    )
    api_export_url: str = Field(
        default="",
        description="Where exports are written (a path, file://, s3:// or memory://); empty "
        "means exports/ under the archive URL.",
    )

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

    redis_url: str = Field(
        default="", description="redis:// or rediss:// URL; empty keeps limits and cache in memory."
    )

    api_rate_limit_free: int = Field(default=60, ge=1, description="requests per minute")
    api_rate_limit_pro: int = Field(default=600, ge=1, description="requests per minute")
    api_rate_limit_enterprise: int = Field(default=6000, ge=1, description="requests per minute")
    api_rate_limit_refused_per_address: int = Field(
        default=60,
        ge=1,
        description="401, 403 and 429 answers per minute one client address may get; past "
        "it every request from the address answers 429.",
    )
    # The most one GraphQL query may cost (see api.query.cost and graphql_max_cost).
    api_graphql_max_cost_free: int = Field(default=20, ge=1, description="cost units")
    api_graphql_max_cost_pro: int = Field(default=100, ge=1, description="cost units")
    api_graphql_max_cost_enterprise: int = Field(default=500, ge=1, description="cost units")
    api_graphql_introspection: bool = Field(
        default=False, description="Answer __schema and __type queries (off in production)."
    )
    api_max_requests_per_token: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Requests of one token in progress at once per process; more answer 429.",
    )
    api_max_queries_per_token: int = Field(
        default=2,
        ge=1,
        le=64,
        description="ClickHouse queries of one token running at once per process; more wait.",
    )

    cache_ttl_seconds: float = Field(
        default=300.0, ge=0, le=86_400, description="How long answers are cached; 0 turns it off."
    )
    cache_max_entries: int = Field(default=10_000, ge=1, le=10_000_000)

    webhook_urls: Annotated[dict[str, str], NoDecode, BeforeValidator(parse_webhook_urls)] = Field(
        default_factory=dict, description="Per-site export notice URLs: 'site=url,site2=url'."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the X-InsightLite-Signature header."
    )
    webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    webhook_backoff_seconds: float = Field(
        default=1.0, ge=0, le=3600, description="First retry delay; doubles each attempt."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

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

    @field_validator("webhook_urls")
    @classmethod
    def _webhook_entries(cls, value: dict[str, str]) -> dict[str, str]:
        for site, url in value.items():
            if not SITE_ID_PATTERN.fullmatch(site):
                raise ValueError(f"{site!r} is not a site id (1-64 of A-Za-z0-9._-)")
            if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", url):
                raise ValueError(f"the URL of {site!r} must be http:// or https://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("api_export_url")
    @classmethod
    def _export_scheme(cls, value: str) -> str:
        return check_storage_url(value)

    @field_validator("jwt_public_key", "jwt_private_key")
    @classmethod
    def _key_readable(cls, value: str) -> str:
        return read_key_text(value) if value else value

    @model_validator(mode="after")
    def _keys_match_algorithms(self) -> APISettings:
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
        from api.query.auth import load_public_key

        try:
            load_public_key(self.jwt_public_key, self.jwt_algorithms)
        except ValueError as exc:
            raise ValueError(f"jwt_public_key: {exc}") from None
        return self

    @model_validator(mode="after")
    def _webhook_secret_given(self) -> APISettings:
        if self.webhook_urls and self.webhook_secret is None:
            raise ValueError("webhook_secret: required when webhook_urls is set")
        if self.webhook_secret is not None and len(self.webhook_secret.get_secret_value()) < 16:
            raise ValueError("webhook_secret: must be at least 16 characters")
        return self

    def graphql_max_cost(self, tier: Tier) -> int:
        """The most one GraphQL query of a ``tier`` token may cost: the setting, or the
        tier's rate limit when that is lower (a query takes its cost from that bucket, so
        a higher cost could never be allowed)."""
        limits: dict[str, int] = {
            "free": self.api_graphql_max_cost_free,
            "pro": self.api_graphql_max_cost_pro,
            "enterprise": self.api_graphql_max_cost_enterprise,
        }
        return min(limits[tier], self.rate_limit_per_minute(tier))

    def rate_limit_per_minute(self, tier: Tier) -> int:
        """Requests per minute a token of ``tier`` may make."""
        limits: dict[str, int] = {
            "free": self.api_rate_limit_free,
            "pro": self.api_rate_limit_pro,
            "enterprise": self.api_rate_limit_enterprise,
        }
        return limits[tier]

    def export_url(self, archive_url: str) -> str:
        """The export location: the setting, or ``exports`` under the archive URL."""
        if self.api_export_url:
            return self.api_export_url
        return archive_url.rstrip("/") + "/exports"


def load_api_settings(**overrides: Any) -> APISettings:
    """Read the API settings from the environment, apply non-None overrides, validate.

    Raises :class:`foundation.settings.ConfigError` naming every offending variable.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return APISettings(**given)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error["msg"])
            name = setting_name(tuple(error.get("loc", ())), message)
            lines.append(f"{name}: {message}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
