"""The dashboard's built files served by the query API (``INSIGHTLITE_API_DASHBOARD_DIR``):
the page at every client route, hashed assets cached for good, security headers, the
API's own paths untouched, a 503 page without a build, path traversal refused, and the
lines ``insightlite api`` and the demo print. The app never opens ClickHouse here
(except the demo's, over ``pipeline_data``)."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from fastapi.testclient import TestClient
from rich.console import Console

from api.query.app import create_app
from api.query.auth import PERMISSIONS
from api.query.dashboard import base_url, dashboard_banner
from foundation.settings import Settings, load_settings
from foundation.settings.api import SOURCE_DASHBOARD_DIR
from insightlite.cli.api import add_parser, api_settings, cmd_api
from insightlite.demo_server import serve_demo
from tests.api.query_support import NOW, SECRET, FakeClock, PipelineData, bearer, make_token

pytest_plugins = ["tests.api.query_fixtures"]

INDEX = b"<!doctype html><title>InsightLite</title><div id=root></div>"
SCRIPT = b"console.log('dashboard')"
SECRET_TEXT = "not-for-the-browser"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A build (index.html, a hashed asset, a file of public/) beside a private file and
    a link to it from inside the build."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-3f2a9c1b.js").write_bytes(SCRIPT)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text(SECRET_TEXT)
    (dist / "assets" / "leak.js").symlink_to(tmp_path / "secret.txt")
    return dist


def settings_for(tmp_path: Path, dashboard: str) -> Settings:
    return load_settings(
        data_dir=tmp_path,
        clickhouse_url=f"chdb:{tmp_path / 'never-opened'}",
        jwt_secret=SECRET,
        api_dashboard_dir=dashboard,
    )


@pytest.fixture
def app(tmp_path: Path, built: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, str(built))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def assert_secured(response: Any) -> None:
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-src"] == "'self' blob:"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    # A recording's page (in rrweb's about:blank iframe) keeps its styles and images.
    assert "'unsafe-inline'" in directives["style-src"] and "https:" in directives["img-src"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/", "/sessions", "/sessions/5f1c/", "/heatmaps?path=/x"])
def test_client_routes_answer_the_page(app: TestClient, path: str) -> None:
    response = app.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert_secured(response)


def test_files_of_the_build(app: TestClient) -> None:
    script = app.get("/assets/index-3f2a9c1b.js")
    assert script.status_code == 200 and script.content == SCRIPT
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert_secured(script)
    icon = app.get("/favicon.svg")
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.headers["cache-control"] == "no-cache"
    # A missing asset is never the page (a stale script would be run as HTML).
    missing = app.get("/assets/index-00000000.js")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    # Revalidation, and HEAD.
    again = app.get("/", headers={"If-None-Match": app.get("/").headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = app.head("/sessions")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(INDEX)


def test_the_api_keeps_its_paths(app: TestClient) -> None:
    for path in ("/v1", "/v1/nowhere", "/v1/sites/shop.example.com/nope", "/docs", "/redoc"):
        response = app.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    for path in ("/ws", "/ws/live", "/graphql/x", "/health/x", "/openapi.json/x"):
        assert app.get(path).status_code == 404, path
    assert app.get("/graphql").status_code == 401  # its own route, as before
    assert app.get("/health").json() == {"status": "ok"}
    assert "paths" in app.get("/openapi.json").json()
    assert app.get("/metrics").status_code == 200
    assert app.post("/").status_code == 404
    assert app.post("/sessions").json()["error"] == "not_found"
    # A protected route still asks for its token.
    stats = app.get("/v1/sites/shop.example.com/stats")
    assert stats.status_code == 401
    token = bearer(make_token(FakeClock(NOW.timestamp()), permissions=[]))
    assert app.get("/v1/sites/shop.example.com/stats", headers=token).status_code in (401, 403)


@pytest.mark.parametrize(
    "path",
    [
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2F..%2Fsecret.txt",
        "/%2Fetc%2Fpasswd",
        "/%2F%2Fetc/passwd",
        "/assets/.%2Findex-3f2a9c1b.js",
        "/assets%5C..%5C..%5Csecret.txt",
        "/index.html%00.js",
    ],
)
def test_paths_out_of_the_build_are_refused(app: TestClient, path: str) -> None:
    response = app.get(path)
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "message": "the path is not allowed"}
    assert SECRET_TEXT not in response.text


def test_links_out_of_the_build_are_not_followed(app: TestClient, tmp_path: Path) -> None:
    response = app.get("/assets/leak.js")
    assert response.status_code == 404
    assert SECRET_TEXT not in response.text
    assert (tmp_path / "dist" / "assets" / "leak.js").read_text() == SECRET_TEXT


def test_without_a_build_a_page_says_how_to_build_it(tmp_path: Path) -> None:
    empty = tmp_path / "dist"
    (empty / "assets").mkdir(parents=True)
    (empty / "assets" / "index-3f2a9c1b.js").write_bytes(SCRIPT)  # but no index.html
    for folder in (empty, tmp_path / "missing"):
        settings = settings_for(tmp_path, str(folder))
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            for path in ("/", "/sessions", "/assets/index-3f2a9c1b.js"):
                response = client.get(path)
                assert response.status_code == 503
                assert response.headers["content-type"].startswith("text/html")
                assert "./dev dashboard" in response.text
                assert str(tmp_path) not in response.text
                assert response.headers["cache-control"] == "no-store"
                assert_secured(response)
            assert client.get("/health").json() == {"status": "ok"}


def test_an_empty_setting_turns_it_off(tmp_path: Path, built: Path) -> None:
    settings = settings_for(tmp_path, "")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in ("/", "/assets/index-3f2a9c1b.js", "/sessions"):
            response = client.get(path)
            assert response.status_code == 404
            assert response.json()["error"] == "not_found"


def test_the_default_is_the_source_trees_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSIGHTLITE_API_DASHBOARD_DIR", raising=False)
    root = Path(__file__).resolve().parents[2]
    assert (
        load_settings().api_dashboard_dir
        == SOURCE_DASHBOARD_DIR
        == str(root / "dashboard" / "dist")
    )
    monkeypatch.setenv("INSIGHTLITE_API_DASHBOARD_DIR", "")
    assert load_settings().api_dashboard_dir == ""


def test_where_the_dashboard_is_printed(tmp_path: Path, built: Path) -> None:
    assert base_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert base_url("::", 8000) == "http://[::1]:8000"
    assert base_url("api.internal", 9000) == "http://api.internal:9000"
    assert dashboard_banner(str(built), "http://h:1") == "dashboard: http://h:1/"
    unbuilt = dashboard_banner(str(tmp_path / "missing"), "http://h:1")
    assert unbuilt is not None and "./dev dashboard" in unbuilt and unbuilt.endswith("http://h:1/")
    assert dashboard_banner("", "http://h:1") is None


def test_the_api_command_prints_the_dashboard(
    tmp_path: Path,
    built: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("INSIGHTLITE_JWT_SECRET", SECRET)
    monkeypatch.setenv("INSIGHTLITE_API_DASHBOARD_DIR", str(built))
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    parser = argparse.ArgumentParser(prog="insightlite")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["api", "--host", "0.0.0.0", "--port", "8123", "--clickhouse", "clickhouse://h:9000/db"]
    )
    for name in ("INSIGHTLITE_CLICKHOUSE_URL", "INSIGHTLITE_DATA_DIR"):
        monkeypatch.setenv(name, "")  # restored afterwards: cmd_api exports its flags
    assert cmd_api(args, api_settings(args)) == 0
    assert started and started[0]["port"] == 8123
    assert "insightlite api: dashboard: http://127.0.0.1:8123/" in capsys.readouterr().out


def test_the_demo_prints_the_dashboard_and_a_token_for_it(
    pipeline_data: PipelineData, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[uvicorn.Server] = []
    # Not served here (tests/insightlite serves it on loopback): what it prints first.
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, *a, **k: served.append(server))
    output = io.StringIO()
    settings = pipeline_data.settings.with_overrides(
        jwt_secret=None, api_host="0.0.0.0", api_port=8765, api_dashboard_dir=str(built)
    )
    serve_demo(settings, Console(file=output, width=400))
    assert served
    printed = output.getvalue()
    line = next(line for line in printed.splitlines() if "dashboard" in line)
    assert "dashboard: http://127.0.0.1:8765/ (sign in with the token below)" in line
    token = printed.split("):\n", 1)[1].split()[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(PERMISSIONS) <= set(claims["permissions"])
    assert {"replay:read", "heatmaps:read", "sessions:read", "stats:read"} <= set(
        claims["permissions"]
    )
    assert set(claims["sites"]) == set(pipeline_data.sites)
