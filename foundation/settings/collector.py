"""Settings of the collector (``POST /ingest``)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from foundation.settings.common import split_csv


class CollectorSettings(BaseModel):
    """The collector's section of :class:`foundation.settings.Settings`."""

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

    @field_validator("collector_trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("collector_trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not an IP address or network") from exc
        return value
