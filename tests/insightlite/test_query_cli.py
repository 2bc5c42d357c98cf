"""`insightlite token create`, `insightlite api` and the demo's server (a real uvicorn
on loopback, in this process, over the test data)."""

from __future__ import annotations

import argparse
import io
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from rich.console import Console

from api.query.auth import TokenVerifier
from foundation.settings import ConfigError, load_settings
from insightlite.cli.api import (
    _FLAG_VARIABLES,
    add_parser,
    api_settings,
    cmd_api,
    cmd_token,
    parse_duration,
)
from insightlite.cli.options import settings_from_args
from insightlite.demo_server import serve_demo
from tests.api.query_support import SECRET, PipelineData

pytest_plugins = ["tests.api.query_fixtures"]


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    # cmd_api exports settings for uvicorn's workers: setting every variable it may
    # touch through monkeypatch first makes sure each is restored afterwards.
    touched = ["PROMETHEUS_MULTIPROC_DIR", *_FLAG_VARIABLES.values()]
    for name in {*touched, *(n for n in os.environ if n.startswith("INSIGHTLITE_"))}:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("INSIGHTLITE_JWT_SECRET", SECRET)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="insightlite")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run_token(args: argparse.Namespace) -> int:
    return cmd_token(args, settings_from_args(args))


def run_api(args: argparse.Namespace) -> int:
    return cmd_api(args, api_settings(args))


def test_token_create_prints_a_token_the_api_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(
        "token",
        "create",
        "--site",
        "shop.example.com",
        "--site",
        "blog.example.org",
        "--permissions",
        "stats:read,export:write",
        "--tier",
        "pro",
        "--ttl",
        "2h",
        "--sub",
        "reporting",
    )
    assert run_token(args) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier.from_settings(load_settings()).verify(token)
    assert principal.sites == {"shop.example.com", "blog.example.org"}
    assert principal.permissions == {"stats:read", "export:write"}
    assert principal.tier == "pro" and principal.subject == "reporting"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7200
    assert claims["jti"]


def test_token_create_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("token", "create", "--site", "shop.example.com", "--permissions", "admin")
    assert run_token(args) == 2
    assert "admin" in capsys.readouterr().err
    args = parse("token", "create", "--site", "not a site")
    assert run_token(args) == 2
    with pytest.raises(SystemExit):
        parse("token", "create", "--site", "s", "--ttl", "forever")
    with pytest.raises(SystemExit):
        parse("token", "create", "--site", "s", "--tier", "gold")


def test_token_create_needs_a_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSIGHTLITE_JWT_SECRET")
    with pytest.raises(ConfigError, match="INSIGHTLITE_JWT_SECRET"):
        run_token(parse("token", "create", "--site", "shop.example.com"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_api_command_runs_uvicorn_with_the_factory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append((a, k)))
    args = parse(
        "api", "--port", "8123", "--workers", "3", "--clickhouse", "clickhouse://h:9000/db"
    )
    assert run_api(args) == 0
    (positional, options) = calls[0]
    assert positional == ("api.query.app:app_from_environment",)
    assert options["factory"] is True
    assert options["port"] == 8123 and options["workers"] == 3
    assert options["host"] == "127.0.0.1"
    import os

    assert os.environ["INSIGHTLITE_CLICKHOUSE_URL"] == "clickhouse://h:9000/db"
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"]  # several workers share their metrics


def test_api_over_embedded_chdb_runs_one_worker(
    pipeline_data: PipelineData,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Over embedded chdb one process only may hold the data directory.
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(k))
    url = pipeline_data.settings.resolved_clickhouse_url
    assert run_api(parse("api", "--workers", "4", "--clickhouse", url)) == 0
    assert calls[0]["workers"] == 1
    assert "one process per data directory" in capsys.readouterr().err


def test_api_refuses_a_data_directory_without_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    typo = tmp_path / "insightlite-dta"
    with pytest.raises(ConfigError, match="no InsightLite database"):
        run_api(parse("api", "--data-dir", str(typo)))
    assert not typo.exists()  # nothing was created over the typo


def test_api_command_checks_the_key_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSIGHTLITE_JWT_SECRET")
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    with pytest.raises(ConfigError, match="INSIGHTLITE_JWT_SECRET"):
        run_api(parse("api"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_demo_serves_the_data_over_loopback(
    pipeline_data: PipelineData, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    servers: list[uvicorn.Server] = []
    original_run = uvicorn.Server.run

    def capture(self: uvicorn.Server, *args: Any, **kwargs: Any) -> None:
        servers.append(self)
        original_run(self, *args, **kwargs)

    monkeypatch.setattr(uvicorn.Server, "run", capture)
    output = io.StringIO()
    console = Console(file=output, width=400)
    # No signing key configured (the demo makes a secret of its own), a free port.
    settings = pipeline_data.settings.with_overrides(jwt_secret=None, api_port=port)
    thread = threading.Thread(target=serve_demo, args=(settings, console))
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        printed = output.getvalue()
        token = re.search(r"Bearer (\S+)\"", printed)
        assert token is not None, printed
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        assert f'curl -H "Authorization: Bearer {token.group(1)}"' in printed
        assert f"{base}/v1/sites/{pipeline_data.busiest_site}/stats" in printed
        for site in pipeline_data.sites:
            stats = httpx.get(f"{base}/v1/sites/{site}/stats", headers=headers, timeout=10)
            assert stats.status_code == 200, stats.text
            assert stats.json()["sessions"] > 0
        png = httpx.get(
            f"{base}/v1/sites/{pipeline_data.busiest_site}/heatmap.png",
            params={"path": pipeline_data.busiest_path},
            headers=headers,
            timeout=10,
        )
        assert png.headers["content-type"] == "image/png"
        graphql_line = next(line for line in printed.splitlines() if "/graphql" in line)
        body = re.search(r"-d '(.+?)'", graphql_line)
        assert body is not None
        answer = httpx.post(
            f"{base}/graphql",
            content=body.group(1),
            headers={**headers, "Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.json()["data"]["site"]["stats"]["pageviews"] > 0
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()
