"""The dashboard's built files (``INSIGHTLITE_API_DASHBOARD_DIR``), served by the query
API at every GET path that is not the API's own, so one address serves both.

- It answers only what no route answers: it is the router's fallback, so every route
  of the app (and a wrong method on one, 405) is untouched. A path whose first segment
  is the API's (``v1``, ``graphql``, ``ws``, ``docs``, ``redoc``, ``openapi.json``,
  ``metrics``, ``health``, ``ready``, and the first segment of any route the app has)
  stays a JSON 404, as does any method other than GET and HEAD.
- ``assets/...``: the build's files, named by Vite with a hash of their content, so
  cached for a year (``immutable``); a missing one is a 404, never the page.
- Another path naming a file of the build (``favicon.svg``) is that file; anything else
  is ``index.html``, the single-page app, which routes on the client. Both revalidate
  (``no-cache``; an unchanged file answers 304 to its ETag).
- Without a build (no ``index.html``) every such path answers 503 with a short page
  saying how to build it. An empty setting turns the dashboard off (JSON 404s).
- Paths with ``.``, ``..`` or empty segments, backslashes or NUL (also when they arrive
  percent-encoded) are refused (400); the file found must lie inside the folder (a
  symbolic link out of it is not followed).

Every answer of the dashboard carries a Content-Security-Policy for a Vite React app
(scripts only from this origin) that lets a recording be rebuilt: rrweb's Replayer
writes the recorded page into an ``about:blank`` iframe (``sandbox="allow-same-origin"``,
no scripts), which inherits this policy, so the recorded site's stylesheets, inline
styles, images and fonts are allowed from any http(s) origin (never scripts);
``frame-src 'self' blob:`` covers a player that loads its frame from a blob or this
origin. Also ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (the
recorded site's servers never learn the dashboard's address) and
``X-Frame-Options: DENY`` (with ``frame-ancestors 'none'``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

import anyio.to_thread
from fastapi import FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.routing import Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from api.query.error_handlers import error_response

# First path segments that belong to the API whether or not a route serves them here.
API_SEGMENTS: Final = frozenset(
    {"v1", "graphql", "ws", "docs", "redoc", "openapi.json", "metrics", "health", "ready"}
)
ASSETS: Final = "assets"
INDEX: Final = "index.html"
ASSET_CACHE: Final = "public, max-age=31536000, immutable"
PAGE_CACHE: Final = "no-cache"
_REMOTE: Final = "https: http:"
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' 'unsafe-inline' {_REMOTE}",
        f"img-src 'self' data: blob: {_REMOTE}",
        f"font-src 'self' data: {_REMOTE}",
        f"media-src 'self' data: blob: {_REMOTE}",
        "connect-src 'self'",
        "frame-src 'self' blob:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
BUILD_COMMAND: Final = "./dev dashboard"
NOT_BUILT_PAGE: Final = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>InsightLite: dashboard not built</title></head>
<body>
<h1>The dashboard has not been built</h1>
<p>Build it with <code>{BUILD_COMMAND}</code> (or <code>npm run build</code> in
<code>dashboard/</code>), then reload this page.</p>
<p>The query API itself is running: REST under <code>/v1/</code>, GraphQL at
<code>/graphql</code>.</p>
</body>
</html>
"""


def _segments(path: str) -> list[str] | None:
    """The path's segments (a trailing slash dropped); None when it is refused."""
    parts = path.removeprefix("/").split("/")
    if parts[-1] == "":
        parts.pop()
    for part in parts:
        if part in ("", ".", "..") or "\\" in part or "\x00" in part:
            return None
    return parts


class DashboardFiles:
    """Pure ASGI: the router's fallback serving the build (see the module doc)."""

    def __init__(self, directory: Path, router: Router, fallback: ASGIApp) -> None:
        self._files = StaticFiles(directory=directory, check_dir=False)
        self._router = router
        self._fallback = fallback
        self._api_segments: frozenset[str] | None = None

    def api_segments(self) -> frozenset[str]:
        """:data:`API_SEGMENTS` and the first segment of every route (read on first use,
        once every route is there)."""
        if self._api_segments is None:
            own = set(API_SEGMENTS)
            for route in self._router.routes:
                first = str(getattr(route, "path", "")).removeprefix("/").split("/")[0]
                if first and "{" not in first:
                    own.add(first)
            self._api_segments = frozenset(own)
        return self._api_segments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self._fallback(scope, receive, send)
            return
        path: str = scope["path"]
        if path.removeprefix("/").split("/")[0] in self.api_segments():
            await self._fallback(scope, receive, send)
            return
        segments = _segments(path)
        if segments is None:
            refusal = error_response(400, "bad_request", "the path is not allowed")
            refusal.headers.update(SECURITY_HEADERS)
            await refusal(scope, receive, send)
            return
        response = await anyio.to_thread.run_sync(self._response, segments, scope)
        if response is None:  # a missing asset
            await self._fallback(scope, receive, send)
            return
        response.headers.update(SECURITY_HEADERS)
        await response(scope, receive, send)

    def _response(self, segments: list[str], scope: Scope) -> Response | None:
        """The file, the page, the not-built page, or None for a missing asset."""
        index_path, index_stat = self._files.lookup_path(INDEX)
        if index_stat is None or not stat.S_ISREG(index_stat.st_mode):
            return HTMLResponse(NOT_BUILT_PAGE, 503, headers={"Cache-Control": "no-store"})
        if segments:
            full_path, found = self._files.lookup_path(os.path.join(*segments))
            if found is not None and stat.S_ISREG(found.st_mode):
                cache = ASSET_CACHE if segments[0] == ASSETS else PAGE_CACHE
                return self._file(full_path, found, scope, cache)
            if segments[0] == ASSETS:
                return None
        return self._file(index_path, index_stat, scope, PAGE_CACHE)

    def _file(self, path: str, found: os.stat_result, scope: Scope, cache: str) -> Response:
        response = self._files.file_response(path, found, scope)
        response.headers["Cache-Control"] = cache
        return response


def install_dashboard(app: FastAPI, directory: str) -> None:
    """Serve the build in ``directory`` at the paths no route of ``app`` answers (see
    the module doc); nothing when ``directory`` is empty."""
    if directory:
        router = app.router
        router.default = DashboardFiles(Path(directory), router, router.default)


def dashboard_banner(directory: str, base_url: str) -> str | None:
    """The line that tells where the dashboard is (or how to build it); None when it is
    turned off."""
    if not directory:
        return None
    if not (Path(directory) / INDEX).is_file():
        return f"dashboard: not built yet; build it with {BUILD_COMMAND}, then open {base_url}/"
    return f"dashboard: {base_url}/"


def base_url(host: str, port: int) -> str:
    """The address to open for a server listening on ``host``: a wildcard address is
    reached on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
