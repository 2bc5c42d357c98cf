"""The `insightlite collector` command: serve POST /ingest into Kafka's raw_events.

    insightlite collector [--host H] [--port P] [--workers N] [--bootstrap-servers B]

Runs the Starlette app on uvicorn (uvloop and httptools when installed) with
``INSIGHTLITE_COLLECTOR_WORKERS`` processes. Exit codes: 0 stopped, 2 bad settings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from typing import Any

from foundation.settings import ENV_PREFIX, Settings
from insightlite.cli.options import set_command, settings_from_args

APP_FACTORY = "api.collector.app:create_app_from_env"
HTTP_PROTOCOL = "api.collector.connections:GuardedHTTPProtocol"

# Flags of this command and the settings they override.
_FLAG_SETTINGS = {
    "host": "collector_host",
    "port": "collector_port",
    "workers": "collector_workers",
    "bootstrap_servers": "kafka_bootstrap_servers",
    "log_level": "log_level",
    "log_format": "log_format",
}


def add_parser(subparsers: Any) -> None:
    """Add the ``collector`` subcommand to ``subparsers`` (from ``add_subparsers``)."""
    collector = subparsers.add_parser(
        "collector",
        help="run the collector: POST /ingest writes browser events to Kafka raw_events, "
        "POST /replay session-replay chunks to replay_events",
        description="Serve POST /ingest (and /health, /ready, /metrics). Every accepted "
        "event is acknowledged by Kafka before the 202 answer.",
    )
    collector.add_argument("--host", help="listen address (INSIGHTLITE_COLLECTOR_HOST)")
    collector.add_argument("--port", type=int, help="listen port (INSIGHTLITE_COLLECTOR_PORT)")
    collector.add_argument(
        "--workers", type=int, help="worker processes (INSIGHTLITE_COLLECTOR_WORKERS)"
    )
    collector.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT[,...]",
        help="Kafka brokers (INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS)",
    )
    collector.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR")
    collector.add_argument("--log-format", help="console or json")
    set_command(
        collector,
        cmd_collector,
        load_settings=collector_settings,
        error_prefix="insightlite collector",
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run/Config keyword arguments for the collector (also used by tests, bench)."""
    return {
        "host": settings.collector_host,
        "port": settings.collector_port,
        # X-Forwarded-For is read by the collector itself, and only from configured
        # proxies: uvicorn's own handling would believe any loopback peer.
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        "log_level": settings.log_level.lower(),
        "timeout_keep_alive": 5,
        "lifespan": "on",
        # uvicorn's HTTP/1.1 protocol with a header deadline and a cap on connections
        # per client address (an import string: worker processes import it themselves).
        "http": HTTP_PROTOCOL,
    }


def collector_settings(args: argparse.Namespace) -> Settings:
    """The settings with this command's flags applied, Kafka's checked now rather than
    on the first request."""
    from connectors.kafka.config import client_config

    overrides = {
        setting: getattr(args, flag, None)
        for flag, setting in _FLAG_SETTINGS.items()
        if flag not in ("log_level", "log_format")
    }
    settings = settings_from_args(args, **overrides)
    client_config(settings)
    return settings


def cmd_collector(args: argparse.Namespace, settings: Settings) -> int:
    run_collector(settings, args)
    return 0


def run_collector(settings: Settings, args: argparse.Namespace | None = None) -> None:
    """Serve until interrupted. Workers read their settings from the environment, so the
    command's flags are exported to it first."""
    import uvicorn

    if args is not None:
        for flag, setting in _FLAG_SETTINGS.items():
            value = getattr(args, flag, None)
            if value is not None:
                os.environ[ENV_PREFIX + setting.upper()] = str(value)
    metrics_dir: str | None = None
    if settings.collector_workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker is a process: /metrics then sums the workers' values, which
        # prometheus_client shares through files in this directory.
        metrics_dir = tempfile.mkdtemp(prefix="insightlite-collector-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            workers=settings.collector_workers,
            **uvicorn_options(settings),
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
