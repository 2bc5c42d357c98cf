"""The `insightlite api` and `insightlite token` commands.

    insightlite api [--host H] [--port P] [--workers N]
    insightlite token create --site S [--site S2] [--permissions stats:read,...]
                             [--tier free|pro|enterprise] [--ttl 24h] [--sub NAME]

Exit codes: 0 done, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from typing import Any

from foundation.settings import Settings
from insightlite.cli.options import add_common_flags, set_command, settings_from_args

DEFAULT_PERMISSIONS = "stats:read,sessions:read,heatmaps:read"
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*\Z")
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
# Flags of the shared options, and the variables that carry them to uvicorn's workers
# (each worker builds its app from the environment).
_FLAG_VARIABLES = {
    "data_dir": "INSIGHTLITE_DATA_DIR",
    "clickhouse": "INSIGHTLITE_CLICKHOUSE_URL",
    "database": "INSIGHTLITE_CLICKHOUSE_DATABASE",
    "log_level": "INSIGHTLITE_LOG_LEVEL",
    "log_format": "INSIGHTLITE_LOG_FORMAT",
}


def parse_duration(text: str) -> float:
    """Seconds of ``90``, ``90s``, ``30m``, ``24h`` or ``7d``."""
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 3600, 30m, 24h, 7d)")
    seconds = float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the duration must be positive")
    return seconds


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is 1-65535")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("workers must be 1-64")
    return value


def add_parser(subparsers: Any) -> None:
    """Add ``api`` and ``token`` to ``subparsers`` (from ``add_subparsers``)."""
    api = subparsers.add_parser(
        "api",
        help="serve the query API (REST, GraphQL, heatmap images, exports)",
        description="Serve the query API with uvicorn. Settings come from INSIGHTLITE_* "
        "variables (see docs/api.md); a JWT key is required (INSIGHTLITE_JWT_SECRET for "
        "HS256, INSIGHTLITE_JWT_PUBLIC_KEY otherwise).",
    )
    api.add_argument("--host", help="listen address (INSIGHTLITE_API_HOST, default 127.0.0.1)")
    api.add_argument("--port", type=_port, help="listen port (INSIGHTLITE_API_PORT, default 8000)")
    api.add_argument(
        "--workers",
        type=_workers,
        help="worker processes (INSIGHTLITE_API_WORKERS, default 1; always 1 over embedded chdb)",
    )
    add_common_flags(api)
    set_command(api, cmd_api, load_settings=api_settings)

    token = subparsers.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser(
        "create",
        help="print a signed API token",
        description="Print a JWT for the query API, signed with INSIGHTLITE_JWT_SECRET "
        "(HS*) or INSIGHTLITE_JWT_PRIVATE_KEY (RS*, PS*, ES*, EdDSA).",
    )
    create.add_argument(
        "--site", action="append", required=True, help="a site the token grants (repeatable)"
    )
    create.add_argument(
        "--permissions",
        default=DEFAULT_PERMISSIONS,
        help="comma-separated: stats:read, sessions:read, heatmaps:read, export:write, "
        f"replay:read, replay:delete, live:read (default: {DEFAULT_PERMISSIONS})",
    )
    create.add_argument(
        "--tier", choices=("free", "pro", "enterprise"), default="free", help="rate-limit tier"
    )
    create.add_argument(
        "--ttl", type=parse_duration, default=parse_duration("24h"), help="lifetime (default 24h)"
    )
    create.add_argument("--sub", default="insightlite-cli", help="subject (who holds the token)")
    set_command(token, cmd_token)


def _uses_embedded_engine(settings: Settings) -> bool:
    return settings.resolved_clickhouse_url.startswith("chdb:")


def api_settings(args: argparse.Namespace) -> Settings:
    """The settings with ``--host``, ``--port`` and ``--workers`` applied."""
    return settings_from_args(
        args, api_host=args.host, api_port=args.port, api_workers=args.workers
    )


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    """Check the settings, then run uvicorn with the app factory in each worker."""
    import uvicorn

    from api.query.auth import TokenVerifier
    from api.query.dashboard import base_url, dashboard_banner
    from insightlite.cli.storage import check_embedded_readable

    TokenVerifier.from_settings(settings)  # a missing key fails here, not per worker
    # A mistyped data directory must not come up as an API over an empty database.
    check_embedded_readable(settings)
    workers = settings.api_workers
    if workers > 1 and _uses_embedded_engine(settings):
        print(
            "insightlite api: embedded chdb allows one process per data directory; "
            "serving with 1 worker (use a ClickHouse server for more)",
            file=sys.stderr,
        )
        workers = 1
    for name, variable in _FLAG_VARIABLES.items():
        value = getattr(args, name, None)
        if value is not None:
            os.environ[variable] = str(value)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics adds up all workers' counts through files in this directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="insightlite-metrics-")
    banner = dashboard_banner(
        settings.api_dashboard_dir, base_url(settings.api_host, settings.api_port)
    )
    if banner:
        print(f"insightlite api: {banner}", flush=True)
    uvicorn.run(
        "api.query.app:app_from_environment",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        server_header=False,
    )
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Print a token signed with the configured key."""
    from api.query.auth import TokenRequest, create_token, signing_key

    try:
        request = TokenRequest(
            subject=args.sub,
            sites=tuple(args.site),
            permissions=tuple(p.strip() for p in args.permissions.split(",") if p.strip()),
            tier=args.tier,
            ttl_seconds=args.ttl,
        )
    except ValueError as exc:
        print(f"insightlite token: {exc}", file=sys.stderr)
        return 2
    algorithm, key = signing_key(settings)
    print(
        create_token(
            request,
            algorithm=algorithm,
            key=key,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    )
    return 0
