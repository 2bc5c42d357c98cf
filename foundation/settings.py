"""The one configuration model of InsightLite.

Every setting is read from an ``INSIGHTLITE_<NAME>`` environment variable and
can be overridden by a command-line flag. Settings are validated when the
process starts; an error names the environment variable it came from.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "INSIGHTLITE_"
# \Z, not $ (which also matches before a final newline); use with fullmatch.
SITE_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")

DEFAULT_BOT_PATTERNS: tuple[str, ...] = (
    r"bot\b",
    r"crawl",
    r"spider",
    r"slurp",
    r"headless",
    r"phantomjs",
    r"puppeteer",
    r"playwright",
    r"selenium",
    r"lighthouse",
    r"python-requests",
    r"python-urllib",
    r"aiohttp",
    r"httpx",
    r"\bcurl/",
    r"\bwget/",
    r"go-http-client",
    r"okhttp",
    r"java/",
    r"libwww",
    r"scrapy",
    r"axios/",
    r"node-fetch",
    r"apache-httpclient",
    r"facebookexternalhit",
    r"preview",
)


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting."""


def check_storage_url(value: str) -> str:
    """An archive-like location: a local path, file://, s3:// or memory://."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if match and match.group(1).lower() not in {"file", "s3", "memory"}:
        raise ValueError("must be a local path, file://, s3:// or memory://")
    return value


def split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """All settings of the pipeline, the CLI and the demo."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        case_sensitive=False,
    )

    data_dir: Path = Field(
        default=Path("insightlite-data"),
        description="Working directory of the embedded run: chdb database, archive, GeoIP file.",
    )
    clickhouse_url: str = Field(
        default="",
        description="'chdb:PATH' for the embedded engine or "
        "'clickhouse://user:password@host:9000/db' for a server; empty means "
        "chdb under the data directory.",
    )
    clickhouse_database: str = Field(default="insightlite", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    archive_url: str = Field(
        default="",
        description="Parquet archive and dead-letter location: a local path, file:// or "
        "s3://bucket/prefix; empty means the archive folder under the data directory.",
    )
    archive_compression: Literal["zstd", "gzip"] = "zstd"
    sink_batch_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    sink_batch_seconds: float = Field(default=2.0, gt=0, le=3600)
    archive_batch_rows: int = Field(default=100_000, ge=1, le=5_000_000)
    archive_flush_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="How often an archive file still filling is rewritten with its events so far.",
    )
    input_batch_size: int = Field(default=5_000, ge=1, le=100_000)

    site_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated site ids accepted; empty accepts every site.",
    )
    max_event_bytes: int = Field(default=32 * 1024, ge=256, le=1024 * 1024)
    max_future_hours: float = Field(default=23.0, ge=0, le=24 * 365)
    max_age_days: float = Field(default=3.0, gt=0, le=365)

    bot_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_BOT_PATTERNS),
        description="Comma-separated case-insensitive regular expressions of bot user agents.",
    )

    geoip_db: str = Field(
        default="",
        description="Path of a MaxMind GeoIP2/GeoLite2 Country or City database; "
        "empty turns the country lookup off.",
    )
    ip_hash_secret: SecretStr | None = Field(
        default=None,
        description="Secret the daily IP-hash key is derived from (at least 16 characters). "
        "When unset, a random one is created once under the data directory.",
    )

    session_gap_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    session_max_hours: float = Field(default=24.0, gt=0, le=24 * 7)
    session_lateness_seconds: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="How long (event time) a session waits for out-of-order events "
        "after its gap has passed.",
    )
    dedup_retention_minutes: float = Field(
        default=60.0,
        ge=0,
        le=7 * 24 * 60,
        description="How long (event time) after its session closed an event id is "
        "still recognised as a duplicate.",
    )
    session_live_update_seconds: float = Field(default=5.0, gt=0, le=3600)
    session_shards: int = Field(default=16, ge=1, le=4096)
    rage_click_count: int = Field(default=3, ge=2, le=100)
    rage_click_interval_ms: int = Field(default=1000, ge=1, le=60_000)
    rage_click_distance_px: int = Field(default=30, ge=1, le=10_000)
    heatmap_cell_height_px: int = Field(default=16, ge=1, le=1024)
    heatmap_window_seconds: float = Field(default=60.0, ge=1, le=86_400)

    # --- Kafka -------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        default="",
        description="Comma-separated host:port of the Kafka brokers; empty means no Kafka.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr | None = None
    kafka_topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,100}$")
    kafka_partitions: int = Field(default=12, ge=1, le=10_000)
    kafka_replication: int = Field(default=1, ge=1, le=10)
    kafka_retention_hours: float = Field(default=168.0, gt=0, le=24 * 365)
    kafka_starting_offset: Literal["earliest", "latest"] = "earliest"
    kafka_batch_size: int = Field(default=5_000, ge=1, le=100_000)
    kafka_connect_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long a run waits for the Kafka brokers to answer before it stops.",
    )

    # --- Recovery (crash safety of the flow) --------------------------------
    recovery_dir: str = Field(
        default="", description="Bytewax recovery store directory; empty turns recovery off."
    )
    snapshot_seconds: float = Field(default=10.0, gt=0, le=3600)
    backup_seconds: float = Field(default=60.0, ge=0, le=86_400)
    recovery_partitions: int = Field(
        default=0,
        ge=0,
        le=1024,
        description="Partitions of a new recovery store; 0 means one per worker process. "
        "Fixed once the store exists.",
    )

    # --- Collector (POST /ingest) -------------------------------------------
    collector_host: str = "0.0.0.0"
    collector_port: int = Field(default=8080, ge=1, le=65535)
    collector_workers: int = Field(default=1, ge=1, le=64)
    collector_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    collector_max_events: int = Field(default=500, ge=1, le=10_000)
    collector_trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated IPs or CIDRs whose X-Forwarded-For is believed.",
    )
    collector_site_rate: float = Field(default=2_000.0, gt=0, description="events/s per site")
    collector_site_burst: int = Field(default=20_000, ge=1)
    collector_ip_rate: float = Field(default=50.0, gt=0, description="events/s per client IP")
    collector_ip_burst: int = Field(default=1_000, ge=1)
    collector_compression: Literal["lz4", "zstd"] = "lz4"
    # Slow clients must not hold the collector's connections: a request's headers and
    # its body each have a deadline, and one client address a bounded number of them.
    collector_header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Seconds to receive a request's headers."
    )
    collector_body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Seconds to receive a request's body."
    )
    collector_max_connections_per_client: int = Field(
        default=100, ge=1, le=1_000_000, description="Open connections per client address."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 turns /metrics off.")
    metrics_host: str = Field(default="0.0.0.0", description="Address /metrics listens on.")

    @field_validator("site_allowlist", "bot_patterns", "collector_trusted_proxies", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("site_allowlist")
    @classmethod
    def _site_ids(cls, value: list[str]) -> list[str]:
        for site in value:
            if not SITE_ID_PATTERN.fullmatch(site):
                raise ValueError(f"{site!r} is not a site id (1-64 of A-Za-z0-9._-)")
        return value

    @field_validator("collector_trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not an IP address or network") from exc
        return value

    @field_validator("bot_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
        return value

    @field_validator("ip_hash_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _clickhouse_scheme(cls, value: str) -> str:
        if value and not re.match(r"^(chdb:|clickhouses?://)", value):
            raise ValueError("must start with 'chdb:', 'clickhouse://' or 'clickhouses://'")
        return value

    @field_validator("archive_url")
    @classmethod
    def _archive_scheme(cls, value: str) -> str:
        return check_storage_url(value)

    @model_validator(mode="after")
    def _geoip_exists(self) -> Settings:
        if self.geoip_db:
            path = Path(self.geoip_db)
            if not path.is_file():
                raise ValueError(f"geoip_db: no MaxMind database file at {self.geoip_db!r}")
        return self

    @model_validator(mode="after")
    def _session_lengths(self) -> Settings:
        if self.session_max_hours * 60 < self.session_gap_minutes:
            raise ValueError(
                "session_max_hours: the session length cap is shorter than session_gap_minutes"
            )
        return self

    @property
    def resolved_clickhouse_url(self) -> str:
        return self.clickhouse_url or f"chdb:{self.data_dir / 'clickhouse'}"

    @property
    def resolved_archive_url(self) -> str:
        return self.archive_url or str(self.data_dir / "archive")


def setting_name(location: tuple[Any, ...], message: str) -> str:
    if location:
        return ENV_PREFIX + str(location[0]).upper()
    match = re.match(r"^(?:Value error, )?(\w+):", message)
    return ENV_PREFIX + match.group(1).upper() if match else "settings"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, apply non-None overrides, validate.

    Raises ConfigError whose message names every offending setting.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error["msg"])
            name = setting_name(tuple(error.get("loc", ())), message)
            lines.append(f"{name}: {message}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
