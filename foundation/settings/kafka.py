"""Settings of the Kafka brokers and topics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class KafkaSettings(BaseModel):
    """The Kafka section of :class:`foundation.settings.Settings`."""

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
