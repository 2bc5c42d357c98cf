"""Settings of the query API: where it listens, its ClickHouse clients, rate limits
and query costs per tier, per-token concurrency, the answer cache, and the dashboard
it serves."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from foundation.settings.common import check_storage_url

Tier = Literal["free", "pro", "enterprise"]
TIERS: tuple[Tier, ...] = ("free", "pro", "enterprise")

# The dashboard's build in the source tree (dashboard/dist at the repository's root,
# beside foundation/): right for a checkout and an editable install; from an installed
# wheel the folder is absent and the API says how to build it.
SOURCE_DASHBOARD_DIR = str(Path(__file__).resolve().parents[2] / "dashboard" / "dist")


class QueryAPISettings(BaseModel):
    """The query API's section of :class:`foundation.settings.Settings`."""

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

    # The live stream (api.query.live): limits, heartbeat and the ClickHouse tail.
    api_live_auth_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long a live connection may take to send its auth message.",
    )
    api_live_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="Pings on live connections this often; a connection that has not read "
        "for two intervals is closed.",
    )
    api_live_max_connections_per_token: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Live connections of one token (sub + jti) at once per process.",
    )
    api_live_max_connections: int = Field(
        default=1000, ge=1, le=100_000, description="Live connections at once per process."
    )
    api_live_queue_messages: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Events waiting per live connection; past it the oldest are dropped.",
    )
    api_live_recent_ids: int = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="Event ids remembered to drop redelivered events.",
    )
    api_live_tail_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Without Kafka: how often the live stream reads new rows of events.",
    )
    api_live_tail_batch_rows: int = Field(
        default=5000, ge=1, le=1_000_000, description="Most rows one poll of the tail reads."
    )
    api_live_tail_lookback_seconds: int = Field(
        default=5,
        ge=0,
        le=3600,
        description="Seconds of writes each poll reads again (an insert shows a moment "
        "after its time).",
    )

    cache_ttl_seconds: float = Field(
        default=300.0, ge=0, le=86_400, description="How long answers are cached; 0 turns it off."
    )
    cache_max_entries: int = Field(default=10_000, ge=1, le=10_000_000)

    api_dashboard_dir: str = Field(
        default=SOURCE_DASHBOARD_DIR,
        description="The dashboard's built files (index.html, assets/) served at /; empty "
        "turns the dashboard off.",
    )

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
