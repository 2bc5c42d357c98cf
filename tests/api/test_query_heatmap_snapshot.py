"""The heatmap's page picture (``GET .../heatmap/snapshot``) and the sessions'
``has_recording``, through the real app over chdb and recordings' blobs in a local
archive (``tests.api.page_recordings``): the newest page load of the path and device,
split across two chunks too, gone, damaged and expired recordings passed over, the
bound on the chunks looked at, permissions, cost and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import s3fs
from fastapi.testclient import TestClient

from api.query.app import create_app
from api.query.page_snapshot import continue_page_load, scan_chunk
from connectors.archive.replays import ReplayBlobStore
from foundation.settings import Settings
from tests.api.page_recordings import PageRecording, full_snapshot, meta, moved, store
from tests.api.replay_recordings import CLOCK, NOW, SHOP, token

pytest_plugins = ["tests.api.query_fixtures"]

H, M = timedelta(hours=1), timedelta(minutes=1)
SNAPSHOT = f"/v1/sites/{SHOP}/heatmap/snapshot"
NOT_VISITED = "no kept recording visited this page"
NO_SNAPSHOT = "no kept recording of this page holds a full snapshot of it"


def recordings() -> dict[str, PageRecording]:
    made: dict[str, PageRecording] = {}
    made["pricing_old"] = PageRecording(101, 3 * H).page_load(0, "/pricing", "pricing-old")
    new = PageRecording(102, H)
    at = [new.start + timedelta(seconds=s) for s in (0, 10, 20)]
    made["pricing_new"] = new.chunk(
        meta(at[0], "/pricing"),
        full_snapshot(at[0], "pricing-first"),
        meta(at[1], "/"),
        full_snapshot(at[1], "home"),
        meta(at[2], "/pricing", 1440, 900),
        moved(at[2]),  # nothing but a Meta ends a page load
        full_snapshot(at[2] + timedelta(milliseconds=5), "pricing-new"),
        moved(at[2] + timedelta(seconds=2)),
    )
    made["pricing_mobile"] = PageRecording(103, 30 * M, "mobile").page_load(
        0, "/pricing", "pricing-mobile", width=390, height=844
    )
    split = PageRecording(104, 20 * M)
    made["split"] = split.chunk(meta(split.start, "/checkout")).chunk(
        full_snapshot(split.start + timedelta(seconds=1), "checkout-split"),
        moved(split.start + timedelta(seconds=3)),
    )
    no_snapshot = PageRecording(105, 10 * M)
    made["about_no_snapshot"] = no_snapshot.chunk(
        meta(no_snapshot.start, "/about"), moved(no_snapshot.start + timedelta(seconds=1))
    )
    made["about_ok"] = PageRecording(106, 2 * H).page_load(0, "/about", "about-ok")
    made["expired"] = PageRecording(107, timedelta(days=10)).page_load(0, "/old", "old")
    made["blog_gone"] = PageRecording(108, 5 * M, with_blobs=False).page_load(0, "/blog", "gone")
    made["blog_ok"] = PageRecording(109, 4 * H).page_load(0, "/blog", "blog-ok")
    made["docs_damaged"] = PageRecording(110, 5 * M).page_load(0, "/docs", "damaged")
    made["docs_ok"] = PageRecording(111, 5 * H).page_load(0, "/docs", "docs-ok")
    # Newest first, only the last holds a page load: the 21st is past the bound.
    for path, count, first in (("/many", 21, 200), ("/twenty", 20, 300)):
        for index in range(count):
            recording = PageRecording(first + index, 6 * H + index * M)
            if index == count - 1:
                made[f"{path}-oldest"] = recording.page_load(0, path, f"{path}-oldest")
            else:
                made[f"{path}-{index}"] = recording.chunk(meta(recording.start, path))
    made["no_recording"] = PageRecording(400, 2 * H)  # a session only
    return made


@pytest.fixture(scope="module")
def stored(replay_settings: Settings) -> dict[str, PageRecording]:
    made = recordings()
    sessions = [made[name] for name in ("pricing_new", "pricing_mobile", "expired", "no_recording")]
    store(replay_settings, [r for r in made.values() if r.chunks], sessions)
    damaged = made["docs_damaged"].chunks[0]
    ReplayBlobStore(replay_settings.resolved_archive_url).write(damaged.name, b"not gzip")
    return made


@pytest.fixture(scope="module")
def api(replay_settings: Settings, stored: dict[str, PageRecording]) -> Iterator[TestClient]:
    app = create_app(replay_settings.with_overrides(api_dashboard_dir=""), clock=CLOCK)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def snapshot(api: TestClient, path: str, **params: Any) -> Any:
    return api.get(SNAPSHOT, params={"path": path, **params}, headers=token())


def picture(api: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = snapshot(api, path, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def marker(body: dict[str, Any]) -> str:
    """The text of the snapshot's body (see page_recordings.full_snapshot)."""
    html = body["events"][1]["data"]["node"]["childNodes"][1]
    text: str = html["childNodes"][0]["childNodes"][0]["textContent"]
    return text


def test_the_newest_page_load_of_the_path_and_device(
    api: TestClient, stored: dict[str, PageRecording]
) -> None:
    new = stored["pricing_new"]
    body = picture(api, "/pricing", device="desktop")
    events = new.chunks[0].events
    assert body == {
        "session_id": new.id,
        "captured_at": datetime.fromtimestamp(events[6]["timestamp"] / 1000, tz=UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "width": 1440,
        "height": 900,
        "events": [events[4], events[6]],  # as stored
    }
    assert marker(picture(api, "/", device="desktop")) == "home"
    mobile = picture(api, "/pricing", device="mobile")
    assert (mobile["session_id"], mobile["width"], mobile["height"]) == (
        stored["pricing_mobile"].id,
        390,
        844,
    )
    # Without a device: the newest of any.
    assert marker(picture(api, "/pricing")) == "pricing-mobile"


def test_a_full_snapshot_in_the_next_chunk(
    api: TestClient, stored: dict[str, PageRecording]
) -> None:
    split = stored["split"]
    body = picture(api, "/checkout")
    assert body["session_id"] == split.id
    assert body["events"] == [split.chunks[0].events[0], split.chunks[1].events[0]]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/about", "about-ok"),  # the newer one's Meta has no FullSnapshot
        ("/blog", "blog-ok"),  # the newer one's blob is gone
        ("/docs", "docs-ok"),  # the newer one's blob is damaged
        ("/twenty", "/twenty-oldest"),  # the 20th newest chunk is looked at
    ],
)
def test_chunks_without_a_picture_are_passed_over(
    api: TestClient, path: str, expected: str
) -> None:
    assert marker(picture(api, path)) == expected


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        ("/pricing", {"device": "tablet"}, NOT_VISITED),
        ("/nowhere", {}, NOT_VISITED),
        ("/old", {}, NOT_VISITED),  # its recording expired
        ("/many", {}, NO_SNAPSHOT),  # the only page load is in the 21st newest chunk
    ],
)
def test_no_picture_is_a_404_with_a_reason(
    api: TestClient, path: str, params: dict[str, str], reason: str
) -> None:
    response = snapshot(api, path, **params)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": reason}


def test_permissions_cost_and_refusals(api: TestClient) -> None:
    for permissions in (["heatmaps:read"], ["replay:read"], ["stats:read", "sessions:read"]):
        refused = api.get(SNAPSHOT, params={"path": "/"}, headers=token(permissions=permissions))
        assert refused.status_code == 403
    both = token(permissions=["heatmaps:read", "replay:read"])
    allowed = api.get(SNAPSHOT, params={"path": "/"}, headers=both)
    assert allowed.status_code == 200
    used = int(allowed.headers["RateLimit-Limit"]) - int(allowed.headers["RateLimit-Remaining"])
    assert used == 5
    assert api.get(SNAPSHOT, params={"path": "/"}).status_code == 401
    for params in ({}, {"path": "pricing"}, {"path": "/", "device": "phone"}, {"path": "/\n"}):
        assert api.get(SNAPSHOT, params=params, headers=token()).status_code == 422
    other_site = api.get(
        "/v1/sites/blog.example.org/heatmap/snapshot", params={"path": "/"}, headers=token()
    )
    assert other_site.status_code == 404  # the recordings are the shop's


def test_an_unreachable_archive_is_a_503(
    replay_settings: Settings, stored: dict[str, PageRecording], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "snapshot-test",
        "AWS_SECRET_ACCESS_KEY": "snapshot-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    settings = replay_settings.with_overrides(
        archive_url="s3://snapshot-unreachable", api_dashboard_dir=""
    )
    try:
        with TestClient(create_app(settings, clock=CLOCK), raise_server_exceptions=False) as broken:
            response = broken.get(SNAPSHOT, params={"path": "/pricing"}, headers=token())
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    assert response.status_code == 503
    assert response.json() == {
        "error": "archive_unavailable",
        "message": "the recordings archive could not be read",
    }


def session_ids(api: TestClient, **params: Any) -> list[tuple[str, bool]]:
    """(id, has_recording) of every session listed, one per page."""
    found: list[tuple[str, bool]] = []
    cursor: str | None = None
    while True:
        extra: dict[str, str] = {"cursor": cursor} if cursor else {}
        response = api.get(
            f"/v1/sites/{SHOP}/sessions", params={"limit": 1, **params, **extra}, headers=token()
        )
        assert response.status_code == 200, response.text
        body = response.json()
        found += [(s["id"], s["has_recording"]) for s in body["sessions"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_sessions_say_whether_a_recording_is_kept(
    api: TestClient, stored: dict[str, PageRecording]
) -> None:
    mobile, new = stored["pricing_mobile"].id, stored["pricing_new"].id
    without, expired = stored["no_recording"].id, stored["expired"].id
    newest_first = [(mobile, True), (new, True), (without, False), (expired, False)]
    assert session_ids(api) == newest_first
    assert session_ids(api, has_recording="true") == newest_first[:2]
    assert session_ids(api, has_recording="false") == newest_first[2:]
    assert session_ids(api, has_recording="true", device="mobile") == [(mobile, True)]
    for session_id, recorded in newest_first:
        detail = api.get(f"/v1/sites/{SHOP}/sessions/{session_id}", headers=token())
        assert detail.json()["session"]["has_recording"] is recorded
    # Eight days later every recording has expired.
    later = CLOCK.now
    try:
        CLOCK.advance(8 * 86_400)
        assert all(not recorded for _, recorded in session_ids(api, **{"from": "2030-05-01"}))
    finally:
        CLOCK.now = later


def test_scanning_events_of_any_shape() -> None:
    at = NOW
    page = meta(at, "/a")
    shot = full_snapshot(at, "a")
    assert scan_chunk([page, shot], "/a").found is not None
    assert scan_chunk([page, shot], "/b").found is None
    # Another Meta between them ends the page load; a Meta left at the end is pending.
    assert scan_chunk([page, meta(at, "/b"), shot], "/a").found is None
    pending = scan_chunk([page, shot, meta(at, "/a")], "/a")
    assert pending.found is not None and pending.pending is not None
    assert continue_page_load(page, [moved(at), shot]) is not None
    assert continue_page_load(page, [meta(at, "/a"), shot]) is None
    hostile: list[Any] = [None, 4, "x", {"type": "4"}, {"type": True}, {"type": 4}]
    hostile += [{"type": 4, "data": {"href": 7}}, {"type": 4, "data": []}, {"type": 2}]
    assert scan_chunk(hostile, "/a") == scan_chunk([], "/a")
    # A query string or a number run in the href is matched as the pipeline lists pages.
    masked = {"type": 4, "timestamp": 0, "data": {"href": "https://x.test/o/12345678?q=1"}}
    assert scan_chunk([masked, shot], "/o/<num>").found is not None
    load = scan_chunk([{"type": 4, "data": {"href": "/a", "width": 1e300}}, shot], "/a").found
    assert load is not None and load.size() == (1_000_000, 0)
    odd = {"type": 2, "timestamp": float("nan")}
    assert scan_chunk([page, odd], "/a").found.captured_at(NOW) == NOW  # type: ignore[union-attr]
