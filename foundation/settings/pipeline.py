"""Settings of the pipeline: storage, validation limits, sessions and heatmaps,
crash recovery, logs and the run's metrics endpoint."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import NoDecode

from foundation.settings.common import check_site_ids, check_storage_url, split_csv

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


class PipelineSettings(BaseModel):
    """The pipeline's section of :class:`foundation.settings.Settings`."""

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

    # --- Logs and the run's /metrics ----------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 turns /metrics off.")
    metrics_host: str = Field(default="0.0.0.0", description="Address /metrics listens on.")

    @field_validator("site_allowlist", "bot_patterns", mode="before")
    @classmethod
    def _pipeline_lists(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("site_allowlist")
    @classmethod
    def _site_ids(cls, value: list[str]) -> list[str]:
        return check_site_ids(value)

    @field_validator("bot_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
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
    def _geoip_exists(self) -> Self:
        if self.geoip_db:
            path = Path(self.geoip_db)
            if not path.is_file():
                raise ValueError(f"geoip_db: no MaxMind database file at {self.geoip_db!r}")
        return self

    @model_validator(mode="after")
    def _session_lengths(self) -> Self:
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
