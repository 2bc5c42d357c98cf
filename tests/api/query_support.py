"""Helpers of the query API tests: the fixed time, a fake clock, the app, tokens.

The fixtures themselves are in ``query_fixtures`` (loaded with ``pytest_plugins``).
:func:`serve` opens the app in a ``TestClient`` (its lifespan closes the ClickHouse
clients again on the way out) and :func:`make_token` signs tokens for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.query.app import create_app
from api.query.auth import PERMISSIONS
from foundation.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = NOW.date()
EVENTS = 20_000
SECRET = "insightlite-test-secret-0123456789-abcdef"
AUDIENCE = "insightlite-api"
ISSUER = "insightlite"


class FakeClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class PipelineData:
    settings: Settings
    summary: dict[str, Any]
    sites: list[str]
    day: date
    busiest_site: str
    busiest_path: str
    session_count: int


def api_settings(data: PipelineData, **overrides: Any) -> Settings:
    """The pipeline data's settings with the test key, two ClickHouse clients, no
    dashboard (its tests give theirs) and ``overrides``, validated again."""
    values: dict[str, Any] = {
        "jwt_secret": SECRET,
        "api_clickhouse_pool_size": 2,
        "api_dashboard_dir": "",
    }
    values.update(overrides)
    return data.settings.with_overrides(**values)


def build_app(
    data: PipelineData, clock: FakeClock, settings: Settings | None = None, **kwargs: Any
) -> FastAPI:
    return create_app(settings or api_settings(data), clock=clock, **kwargs)


@contextmanager
def serve(
    data: PipelineData, clock: FakeClock, settings: Settings | None = None, **kwargs: Any
) -> Iterator[TestClient]:
    """The app in a TestClient; leaving closes its ClickHouse clients (lifespan)."""
    app = build_app(data, clock, settings, **kwargs)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def claims(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    """Valid claims granting every test site and permission; overrides win (None drops)."""
    now = int(clock())
    values: dict[str, Any] = {
        "sub": "tester",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": f"test-{time.perf_counter_ns()}",
        "sites": ["shop.example.com", "blog.example.org", "docs.example.net"],
        "permissions": list(PERMISSIONS),
        "tier": "enterprise",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def make_token(
    clock: FakeClock, *, key: Any = SECRET, algorithm: str = "HS256", **overrides: Any
) -> str:
    return jwt.encode(claims(clock, **overrides), key, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
