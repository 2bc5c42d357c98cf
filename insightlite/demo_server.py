"""The demo's query API server: `insightlite demo --serve` over the demo's data."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from foundation.settings import ConfigError, Settings

if TYPE_CHECKING:
    from rich.console import Console


def _demo_api_settings(settings: Settings) -> tuple[Settings, str, Any]:
    """Settings that can both sign and verify: the configured keys, or a fresh secret."""
    from pydantic import SecretStr

    from api.query.auth import signing_key

    try:
        algorithm, key = signing_key(settings)
        return settings, algorithm, key
    except ConfigError:
        pass
    secret = secrets.token_urlsafe(32)
    demo = settings.with_overrides(jwt_algorithms=["HS256"], jwt_secret=SecretStr(secret))
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
    demo (all permissions, 24 hours), where the dashboard is (sign in with that token)
    and curl commands to try.
    """
    import uvicorn

    from api.query.app import create_app
    from api.query.auth import PERMISSIONS, TokenRequest, create_token
    from api.query.dashboard import base_url, dashboard_banner

    demo_settings, algorithm, key = _demo_api_settings(settings)
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
        audience=demo_settings.jwt_audience,
        issuer=demo_settings.jwt_issuer,
    )
    site, path = busiest or (sites[0], "/")
    base = f"http://{demo_settings.api_host}:{demo_settings.api_port}"
    auth = f'-H "Authorization: Bearer {token}"'
    graphql_body = orjson.dumps(
        {"query": f'{{ site(id: "{site}") {{ stats {{ pageviews visitors bounceRate }} }} }}'}
    ).decode()
    page = quote(path, safe="/")
    console.print(f"\n[bold]Query API[/bold] on {base} (Ctrl-C stops it)")
    dashboard = dashboard_banner(
        demo_settings.api_dashboard_dir, base_url(demo_settings.api_host, demo_settings.api_port)
    )
    if dashboard:
        console.print(
            f"  {dashboard} (sign in with the token below)",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
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
    app = create_app(demo_settings)
    config = uvicorn.Config(
        app,
        host=demo_settings.api_host,
        port=demo_settings.api_port,
        workers=1,
        log_level="warning",
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run()
