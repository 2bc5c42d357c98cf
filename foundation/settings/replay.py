"""Settings of session replay: the collector's ``POST /replay`` limits, the pipeline's
replay step and how long recordings are kept."""

from __future__ import annotations

from pydantic import BaseModel, Field

MIB = 1024 * 1024


class ReplaySettings(BaseModel):
    """The replay section of :class:`foundation.settings.Settings`."""

    replay_enabled: bool = Field(
        default=True,
        description="Whether a Kafka run also reads replay_events and stores recordings.",
    )
    collector_replay_max_body_bytes: int = Field(
        default=MIB,
        ge=1024,
        le=64 * MIB,
        description="Largest replay chunk request, as sent (usually gzip).",
    )
    collector_replay_max_chunk_bytes: int = Field(
        default=8 * MIB,
        ge=1024,
        le=64 * MIB,
        description="Largest replay chunk once decompressed; also the replay_events "
        "topic's largest record.",
    )
    collector_replay_max_events: int = Field(
        default=20_000, ge=1, le=100_000, description="rrweb events per replay chunk."
    )
    collector_replay_site_rate: float = Field(
        default=200.0, gt=0, description="Replay chunks/s per site."
    )
    collector_replay_site_burst: int = Field(default=2_000, ge=1)
    collector_replay_ip_rate: float = Field(
        default=2.0, gt=0, description="Replay chunks/s per client IP."
    )
    collector_replay_ip_burst: int = Field(default=30, ge=1)
    replay_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a recording is kept after its last event (blobs and metadata); "
        "above 760 (the CNIL exemption's 25 months) a warning is logged at start.",
    )
