"""The `insightlite api` and `insightlite token` commands, and the demo's API server.

    insightlite api [--host H] [--port P] [--workers N]
    insightlite token create --site S [--site S2] [--permissions stats:read,...]
                             [--tier free|pro|enterprise] [--ttl 24h] [--sub NAME]

Exit codes: 0 done, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import tempfile
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from foundation.logs import configure_logging
from foundation.settings import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from api.query.settings import APISettings
    from foundation.settings import Settings

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


def add_api_parsers(subparsers: Any) -> None:
    """Add ``api`` and ``token`` to ``subparsers`` (from ``add_subparsers``)."""
    # insightlite.cli imports this module to build its parser; import back lazily.
    from insightlite.cli import _common

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
    _common(api)

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
        help="comma-separated: stats:read, sessions:read, heatmaps:read, export:write "
        f"(default: {DEFAULT_PERMISSIONS})",
    )
    create.add_argument(
        "--tier", choices=("free", "pro", "enterprise"), default="free", help="rate-limit tier"
    )
    create.add_argument(
        "--ttl", type=parse_duration, default=parse_duration("24h"), help="lifetime (default 24h)"
    )
    create.add_argument("--sub", default="insightlite-cli", help="subject (who holds the token)")


def _uses_embedded_engine(settings: Settings) -> bool:
    return settings.resolved_clickhouse_url.startswith("chdb:")


def cmd_api(args: argparse.Namespace) -> int:
    """Check the settings, then run uvicorn with the app factory in each worker."""
    import uvicorn

    from api.query.auth import TokenVerifier
    from api.query.settings import load_api_settings
    from insightlite.cli import _settings

    settings = _settings(args)
    api_settings = load_api_settings(
        api_host=args.host, api_port=args.port, api_workers=args.workers
    )
    TokenVerifier.from_settings(api_settings)  # a missing key fails here, not per worker
    configure_logging(settings.log_level, settings.log_format)
    workers = api_settings.api_workers
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
    uvicorn.run(
        "api.query.app:app_from_environment",
        factory=True,
        host=api_settings.api_host,
        port=api_settings.api_port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        server_header=False,
    )
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Print a token signed with the configured key."""
    from api.query.auth import TokenRequest, create_token, signing_key
    from api.query.settings import load_api_settings

    api_settings = load_api_settings()
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
    algorithm, key = signing_key(api_settings)
    print(
        create_token(
            request,
            algorithm=algorithm,
            key=key,
            audience=api_settings.jwt_audience,
            issuer=api_settings.jwt_issuer,
        )
    )
    return 0


def _demo_api_settings(api_settings: APISettings) -> tuple[APISettings, str, Any]:
    """Settings that can both sign and verify: the configured keys, or a fresh secret."""
    from pydantic import SecretStr

    from api.query.auth import signing_key

    try:
        algorithm, key = signing_key(api_settings)
        return api_settings, algorithm, key
    except ConfigError:
        pass
    secret = secrets.token_urlsafe(32)
    demo = api_settings.model_copy(
        update={"jwt_algorithms": ["HS256"], "jwt_secret": SecretStr(secret)}
    )
    return demo, "HS256", secret.encode()


def _demo_sites(settings: Settings) -> tuple[list[str], tuple[str, str] | None]:
    """The sites with data, and the (site, path) of the busiest clicked page."""
    from api.query.heatmap_cells import busiest_page
    from connectors.clickhouse import connect

    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    try:
        rows = client.query(
            f"SELECT DISTINCT site_id FROM {client.database}.sessions ORDER BY site_id"
        ).rows
        return [str(row[0]) for row in rows], busiest_page(client)
    finally:
        client.close()


def serve_demo(settings: Settings, console: Console) -> None:
    """Serve the API over the demo's data in this process until interrupted.

    chdb allows one process per data directory, so the server runs here, after the
    demo's own clients are done, with one worker. Prints a token for every site of the
    demo (all permissions, 24 hours) and curl commands to try.
    """
    import uvicorn

    from api.query.app import create_app
    from api.query.auth import PERMISSIONS, TokenRequest, create_token
    from api.query.settings import load_api_settings

    api_settings, algorithm, key = _demo_api_settings(load_api_settings())
    sites, busiest = _demo_sites(settings)
    if not sites:
        console.print("[yellow]no sessions were written; nothing to serve[/yellow]")
        return
    token = create_token(
        TokenRequest(
            subject="insightlite-demo",
            sites=tuple(sites),
            permissions=PERMISSIONS,
            tier="enterprise",
            ttl_seconds=86_400,
        ),
        algorithm=algorithm,
        key=key,
        audience=api_settings.jwt_audience,
        issuer=api_settings.jwt_issuer,
    )
    site, path = busiest or (sites[0], "/")
    base = f"http://{api_settings.api_host}:{api_settings.api_port}"
    auth = f'-H "Authorization: Bearer {token}"'
    graphql_body = orjson.dumps(
        {"query": f'{{ site(id: "{site}") {{ stats {{ pageviews visitors bounceRate }} }} }}'}
    ).decode()
    page = quote(path, safe="/")
    console.print(f"\n[bold]Query API[/bold] on {base} (Ctrl-C stops it)")
    console.print(
        f"  token (24 h, all permissions, sites {', '.join(sites)}):\n  {token}\n\n"
        f"  curl {auth} '{base}/v1/sites/{site}/stats'\n"
        f"  curl {auth} '{base}/v1/sites/{site}/heatmap?path={page}&type=click'\n"
        f"  curl {auth} -o heatmap.png '{base}/v1/sites/{site}/heatmap.png?path={page}'\n"
        f"  curl {auth} '{base}/v1/sites/{site}/sessions?limit=5'\n"
        f"  curl {auth} -H 'Content-Type: application/json' -d '{graphql_body}' '{base}/graphql'\n"
        f"  OpenAPI document: {base}/openapi.json\n",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    app = create_app(settings, api_settings)
    config = uvicorn.Config(
        app,
        host=api_settings.api_host,
        port=api_settings.api_port,
        workers=1,
        log_level="warning",
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run()
