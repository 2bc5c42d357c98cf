"""Who may open the live stream: the auth message, the token's checks, the site and
permission, the connection limits, and the token's expiry, each ending with its close
code. Through the real app under uvicorn (the ClickHouse tail as its source)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from api.query.auth import PERMISSION_LIVE, PERMISSIONS, TokenRequest
from foundation.settings import Settings
from tests.api.live_support import (
    SITE,
    LiveServer,
    closed_with,
    collect,
    live_settings,
    open_socket,
    receive,
    serve_live,
    streaming,
    token,
)
from tests.api.query_support import FakeClock

REFUSALS = "insightlite_api_live_refusals_total"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-auth")


@pytest.fixture(scope="module")
def settings(data_dir: Path) -> Settings:
    return live_settings(
        data_dir,
        api_live_max_connections_per_token=2,
        api_rate_limit_refused_per_address=1000,
        jwt_leeway_seconds=0,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[LiveServer]:
    with serve_live(settings, clock) as running:
        yield running


def refused(server: LiveServer, first_message: str | None, site: str = SITE) -> tuple[int, str]:
    with open_socket(server.url(site)) as ws:
        if first_message is not None:
            # The server may have closed already (the address's refusals).
            with contextlib.suppress(ConnectionClosed):
                ws.send(first_message)
        return closed_with(ws)


def auth(text: str) -> str:
    return json.dumps({"type": "auth", "token": text})


def test_live_read_is_a_permission_tokens_can_grant() -> None:
    assert PERMISSION_LIVE == "live:read" and PERMISSION_LIVE in PERMISSIONS
    request = TokenRequest("dashboard", (SITE,), (PERMISSION_LIVE,), "pro", 3600)
    assert request.permissions == ("live:read",)


def test_no_auth_message_in_time_is_refused_even_with_a_token_in_the_url(
    server: LiveServer, clock: FakeClock
) -> None:
    assert refused(server, None) == (4401, "no auth message within 1 s")
    # A token in the query string is never read: the connection still waits for the
    # auth message, and is refused without it.
    with open_socket(server.url(query=f"?token={token(clock)}")) as ws:
        assert closed_with(ws) == (4401, "no auth message within 1 s")
    assert server.metric(REFUSALS, code="4401") == 2


def test_bad_and_expired_tokens_are_refused(server: LiveServer, clock: FakeClock) -> None:
    assert refused(server, auth(token(clock) + "x")) == (4401, "token signature not valid")
    expired = token(clock, iat=int(clock()) - 7200, nbf=None, exp=int(clock()) - 3600)
    assert refused(server, auth(expired)) == (4401, "token expired")
    other_audience = token(clock, aud="someone-else")
    assert refused(server, auth(other_audience)) == (4401, "token audience or issuer not accepted")
    assert refused(server, json.dumps({"type": "auth"})) == (4401, "token required")


@pytest.mark.parametrize(
    ("first_message", "reason"),
    [
        ("not json", "the first message is not JSON"),
        (
            json.dumps({"type": "hello", "token": "x"}),
            'the first message must be {"type": "auth", "token": ...}',
        ),
        (json.dumps(["auth"]), 'the first message must be {"type": "auth", "token": ...}'),
        (json.dumps({"type": "auth", "token": 12}), "token must be a string"),
        ("x" * 9000, "the first message is too long"),
    ],
)
def test_a_malformed_first_message_is_refused(
    server: LiveServer, first_message: str, reason: str
) -> None:
    assert refused(server, first_message) == (4400, reason)


def test_binary_first_message_and_bad_site_are_refused(
    server: LiveServer, clock: FakeClock
) -> None:
    with open_socket(server.url()) as ws:
        ws.send(auth(token(clock)).encode())
        assert closed_with(ws) == (4400, "the first message must be JSON text")
    code, reason = refused(server, auth(token(clock)), site="bad%0Asite")
    assert (code, reason) == (4400, "malformed site id (1-64 of A-Za-z0-9._-)")


def test_a_site_or_permission_not_granted_is_refused(server: LiveServer, clock: FakeClock) -> None:
    other_site = token(clock, sites=["blog.example.org"])
    assert refused(server, auth(other_site)) == (4403, "site not granted by this token")
    without_live = token(clock, permissions=[p for p in PERMISSIONS if p != PERMISSION_LIVE])
    assert refused(server, auth(without_live)) == (
        4403,
        "permission live:read not granted by this token",
    )
    assert server.metric(REFUSALS, code="4403") == 2


def test_a_token_holds_at_most_its_connections(server: LiveServer, clock: FakeClock) -> None:
    holder = token(clock, jti="limited")
    with streaming(server, holder), streaming(server, holder) as second:
        assert refused(server, auth(holder)) == (4429, "this token already has 2 live connections")
        # Another token of the same subject has connections of its own.
        with streaming(server, token(clock, jti="another")):
            pass
        second.close()
        # Once one leaves, the token may connect again.
        deadline = time.monotonic() + 30
        while server.metric("insightlite_api_live_connections") > 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with streaming(server, holder) as again:
            assert receive(again)["type"] == "summary"


def test_the_process_cap_refuses_before_the_auth_message(data_dir: Path, clock: FakeClock) -> None:
    settings = live_settings(data_dir, api_live_max_connections=1)
    with serve_live(settings, clock) as server, streaming(server, token(clock)):
        assert refused(server, auth(token(clock))) == (4429, "too many live connections")


def test_refusals_count_against_the_address(data_dir: Path, clock: FakeClock) -> None:
    settings = live_settings(data_dir, api_rate_limit_refused_per_address=2)
    with serve_live(settings, clock) as server:
        for _ in range(2):
            assert refused(server, auth("not-a-token"))[0] == 4401
        # The address has used up its refusals: even a valid token is turned away.
        assert refused(server, auth(token(clock))) == (
            4429,
            "too many refused requests from this address",
        )


def test_the_tokens_expiry_ends_the_connection(server: LiveServer, clock: FakeClock) -> None:
    short = token(clock, exp=int(clock()) + 60)
    with streaming(server, short) as ws:
        collect(ws, lambda messages: any(m["type"] == "summary" for m in messages))
        clock.advance(61)
        assert closed_with(ws) == (4401, "token expired")
    assert server.metric("insightlite_api_live_closes_total", reason="token_expired") == 1
