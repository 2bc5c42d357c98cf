"""The confluent-kafka (librdkafka) client configuration built from the settings.

Every Kafka client of InsightLite (collector producer, load source, admin, pipeline
source) starts from ``client_config(settings)``, so the brokers, the security protocol
and SASL are set in one place and checked when a client is built, with errors naming
the ``INSIGHTLITE_*`` variable to fix.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from foundation.settings import ConfigError, Settings

# librdkafka's own log lines (one per failed connection attempt, every second per
# broker and client) go to this logger at DEBUG.
LIBRDKAFKA_LOGGER = "insightlite.kafka.client"

_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\Z")


def bootstrap_servers(settings: Settings) -> str:
    """The checked ``host:port,...`` list; a ConfigError when Kafka is not configured."""
    raw = settings.kafka_bootstrap_servers.strip()
    if not raw:
        raise ConfigError(
            "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS: Kafka is needed here but no broker is set "
            "(give host:port[,host:port...], e.g. 127.0.0.1:9092)"
        )
    servers = [part.strip() for part in raw.split(",") if part.strip()]
    for server in servers:
        match = _HOST_PORT.fullmatch(server)
        if not match or not 1 <= int(match.group(2)) <= 65535:
            raise ConfigError(
                f"INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS: {server!r} is not host:port "
                "(e.g. 127.0.0.1:9092)"
            )
    return ",".join(servers)


def client_config(settings: Settings, *, client_id: str = "insightlite") -> dict[str, Any]:
    """Connection settings shared by producers, consumers and admin clients.

    Raises ConfigError when no broker is set or the security settings do not fit together.
    """
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers(settings),
        "client.id": client_id,
        "security.protocol": settings.kafka_security_protocol,
    }
    uses_sasl = settings.kafka_security_protocol.startswith("SASL_")
    if uses_sasl:
        missing = []
        if not settings.kafka_sasl_mechanism:
            missing.append("INSIGHTLITE_KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256 or -512)")
        if not settings.kafka_sasl_username:
            missing.append("INSIGHTLITE_KAFKA_SASL_USERNAME")
        password = settings.kafka_sasl_password
        if password is None or not password.get_secret_value():
            missing.append("INSIGHTLITE_KAFKA_SASL_PASSWORD")
        if missing:
            raise ConfigError(
                f"INSIGHTLITE_KAFKA_SECURITY_PROTOCOL is {settings.kafka_security_protocol}, "
                "which needs " + ", ".join(missing)
            )
        assert password is not None
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = password.get_secret_value()
    elif settings.kafka_sasl_mechanism or settings.kafka_sasl_username:
        # Credentials that would silently not be used point at a mistyped protocol.
        raise ConfigError(
            "INSIGHTLITE_KAFKA_SASL_MECHANISM/USERNAME are set but "
            f"INSIGHTLITE_KAFKA_SECURITY_PROTOCOL is {settings.kafka_security_protocol}; "
            "use SASL_SSL (or SASL_PLAINTEXT) to send them"
        )
    return config


class LibrdkafkaLog:
    """Receives librdkafka's log lines, as the ``logger`` client setting.

    Without it librdkafka writes every line to standard error itself: an unreachable
    broker gives a ``FAIL`` line per connection attempt, about twenty a second with a
    few clients. Here each line is logged at DEBUG, and only the first warning or
    error is also logged at WARNING, as one structured line.
    """

    def __init__(self, client_id: str) -> None:
        self._client_id = client_id
        self._warned = False
        self._lock = threading.Lock()
        self._log = logging.getLogger(LIBRDKAFKA_LOGGER)

    def log(self, level: int, message: str, *args: object) -> None:
        text = message % args if args else message
        self._log.debug("%s", text, extra={"kafka_client": self._client_id})
        if level < logging.WARNING:
            return
        with self._lock:
            first, self._warned = not self._warned, True
        if first:
            self._log.warning(
                "Kafka client %s: %s (further client messages at DEBUG)",
                self._client_id,
                text,
                extra={"kafka_client": self._client_id, "kafka_client_message": text},
            )


def quiet_client_config(settings: Settings, *, client_id: str = "insightlite") -> dict[str, Any]:
    """``client_config`` whose client logs through ``LibrdkafkaLog``, not to stderr."""
    config = client_config(settings, client_id=client_id)
    config["logger"] = LibrdkafkaLog(client_id)
    return config
