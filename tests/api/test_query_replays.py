"""Session recordings over REST, through the real app over chdb and a local archive
(``tests.api.replay_recordings``): the list with every filter and keyset pages, one
recording's summary, its events streamed from the blobs in time order, deletion,
expiry, and every refusal (403, 404, 422, 503).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
import s3fs
from fastapi.testclient import TestClient

from api.query.app import create_app
from connectors.archive.replays import ReplayBlobStore
from foundation.settings import Settings
from tests.api.replay_recordings import (
    BLOG,
    CLOCK,
    DOCS,
    LISTED,
    NOW,
    SHOP,
    Recording,
    stored_rows,
    token,
)

pytest_plugins = ["tests.api.query_fixtures"]


def listed(replay_api: TestClient, **params: Any) -> list[str]:
    """The session ids of one page of the shop's recordings."""
    response = replay_api.get(f"/v1/sites/{SHOP}/replays", params=params, headers=token())
    assert response.status_code == 200, response.text
    return [replay["session_id"] for replay in response.json()["replays"]]


def ids(replay_data: dict[str, Recording], *names: str) -> list[str]:
    return [replay_data[name].id for name in names]


def test_newest_first_without_expired_ones(
    replay_api: TestClient, replay_data: dict[str, Recording]
) -> None:
    response = replay_api.get(f"/v1/sites/{SHOP}/replays", headers=token())
    assert response.status_code == 200
    body = response.json()
    assert [replay["session_id"] for replay in body["replays"]] == ids(replay_data, *LISTED)
    assert body["next_cursor"] is None
    # Without from/to the days reach back past the retention window's start.
    assert body["date_to"] == "2030-06-01" and body["date_from"] == "2030-05-24"
    # Asked for by its own day, an expired recording is still not there.
    day = (NOW - timedelta(days=10)).date().isoformat()
    assert listed(replay_api, **{"from": day, "to": day}) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"path": "/pricing"}, ["r1", "r3"]),
        ({"path": "/blog"}, ["r2"]),
        ({"path": "/a' OR 1=1 --"}, []),
        ({"device": "mobile"}, ["r2"]),
        ({"device": "tablet"}, ["r3"]),
        ({"country": "us"}, ["r3"]),
        ({"country": "FR"}, ["r2"]),
        ({"min_duration": 150}, ["r1", "r3", "spanning"]),
        ({"min_duration": 151}, ["r3", "spanning"]),
        ({"has_rage_clicks": "true"}, ["r1"]),
        ({"has_rage_clicks": "false"}, [name for name in LISTED if name != "r1"]),
        ({"has_errors": "true"}, ["r1", "r3"]),
        ({"from": "2030-05-26", "to": "2030-05-26"}, ["r7"]),
        ({"from": "2030-05-24", "to": "2030-05-24"}, ["spanning"]),
        ({"from": "2030-05-31"}, ["r1", "r2", "r3", "r5", "r4", "r6"]),
        (
            {"device": "desktop", "path": "/", "has_errors": "false"},
            ["r5", "r4", "r6", "r7", "spanning"],
        ),
    ],
)
def test_filters(
    replay_api: TestClient,
    replay_data: dict[str, Recording],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    assert listed(replay_api, **params) == ids(replay_data, *expected)


def test_pages_have_no_repeat_and_no_gap(
    replay_api: TestClient, replay_data: dict[str, Recording]
) -> None:
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        response = replay_api.get(f"/v1/sites/{SHOP}/replays", params=params, headers=token())
        assert response.status_code == 200
        body = response.json()
        pages.append([replay["session_id"] for replay in body["replays"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] == [3, 3, 2]
    assert [session for page in pages for session in page] == ids(replay_data, *LISTED)
    bad = replay_api.get(
        f"/v1/sites/{SHOP}/replays", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=token()
    )
    assert bad.status_code == 400


def test_one_recording_counts_a_chunk_stored_twice_once(
    replay_api: TestClient, replay_settings: Settings, replay_data: dict[str, Recording]
) -> None:
    r1 = replay_data["r1"]
    assert stored_rows(replay_settings, r1.id)[0] == 4  # three chunks, one of them twice
    response = replay_api.get(f"/v1/sites/{SHOP}/replays/{r1.id}", headers=token())
    assert response.status_code == 200
    active = {second for chunk in r1.chunks for second in chunk.row["active_seconds"]}
    assert response.json() == {
        "session_id": r1.id,
        "start_time": "2030-06-01T11:00:00Z",
        "end_time": "2030-06-01T11:02:30Z",
        "duration_seconds": 150,
        "active_seconds": len(active),
        "chunk_count": 3,
        "event_count": 9,
        "bytes": sum(len(chunk.blob) for chunk in r1.chunks),
        "pages": ["/", "/checkout", "/pricing"],
        "click_count": 5,
        "rage_click_count": 1,
        "error_count": 1,
        "device_type": "desktop",
        "country_code": "DE",
    }
    # The list shows the same summary.
    page = replay_api.get(f"/v1/sites/{SHOP}/replays", params={"limit": 1}, headers=token()).json()
    assert page["replays"] == [response.json()]


def test_events_are_the_chunks_events_in_time_order(
    replay_api: TestClient, replay_data: dict[str, Recording]
) -> None:
    r1 = replay_data["r1"]
    response = replay_api.get(f"/v1/sites/{SHOP}/replays/{r1.id}/events", headers=token())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    events = orjson.loads(response.content)
    assert events == [event for chunk in r1.chunks for event in chunk.events]
    assert [event["timestamp"] for event in events] == sorted(e["timestamp"] for e in events)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown", "no such recording"),
        ("expired", "no such recording"),
        ("blog", "no such recording"),  # another site's, asked for under the shop's path
        ("r2", "the recording has no stored events"),  # rows, but no blobs
    ],
)
def test_not_found(
    replay_api: TestClient, replay_data: dict[str, Recording], name: str, message: str
) -> None:
    session_id = replay_data[name].id if name in replay_data else str(uuid.uuid4())
    headers = token(sites=[SHOP])
    events = replay_api.get(f"/v1/sites/{SHOP}/replays/{session_id}/events", headers=headers)
    assert events.status_code == 404
    assert events.json() == {"error": "not_found", "message": message}
    summary = replay_api.get(f"/v1/sites/{SHOP}/replays/{session_id}", headers=headers)
    assert summary.status_code == (200 if name == "r2" else 404)
    if name in ("unknown", "blog"):  # (deleting an expired one is allowed: see below)
        assert (
            replay_api.delete(f"/v1/sites/{SHOP}/replays/{session_id}", headers=headers).status_code
            == 404
        )
    # The site itself must be granted: its own path answers 403 to a shop-only token.
    blog = replay_data["blog"].id
    assert replay_api.get(f"/v1/sites/{BLOG}/replays/{blog}", headers=headers).status_code == 403
    assert replay_api.get(f"/v1/sites/{BLOG}/replays/{blog}", headers=token()).status_code == 200


@pytest.mark.parametrize("path", ["", "/{id}", "/{id}/events"])
def test_reading_needs_replay_read(
    replay_api: TestClient, replay_data: dict[str, Recording], path: str
) -> None:
    url = f"/v1/sites/{SHOP}/replays" + path.format(id=replay_data["r1"].id)
    refused = replay_api.get(url, headers=token(permissions=["sessions:read", "replay:delete"]))
    assert refused.status_code == 403
    assert refused.json()["message"] == "permission replay:read not granted by this token"
    assert replay_api.get(url, headers=token(permissions=["replay:read"])).status_code == 200


@pytest.mark.parametrize(
    "session_id",
    [
        "not-a-uuid",
        "00000000-0000-4000-8000-000000000001%0A",
        "00000000-0000-4000-8000-00000000000",
    ],
)
def test_a_session_id_must_be_a_uuid(replay_api: TestClient, session_id: str) -> None:
    base = f"/v1/sites/{SHOP}/replays/{session_id}"
    for response in (
        replay_api.get(base, headers=token()),
        replay_api.get(f"{base}/events", headers=token()),
        replay_api.delete(base, headers=token()),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid_request"


def test_delete_removes_blobs_and_rows(
    replay_api: TestClient, replay_settings: Settings, replay_data: dict[str, Recording]
) -> None:
    docs = replay_data["docs"]
    url = f"/v1/sites/{DOCS}/replays/{docs.id}"
    store = ReplayBlobStore(replay_settings.resolved_archive_url)
    assert len(store.chunk_names(DOCS, docs.id)) == 1
    refused = replay_api.delete(url, headers=token(permissions=["replay:read"]))
    assert refused.status_code == 403
    assert refused.json()["message"] == "permission replay:delete not granted by this token"
    assert replay_api.get(url, headers=token()).status_code == 200

    deleted = replay_api.delete(url, headers=token(permissions=["replay:delete"]))
    assert deleted.status_code == 204 and deleted.content == b""
    assert store.chunk_names(DOCS, docs.id) == []
    assert stored_rows(replay_settings, docs.id) == (0, 0)
    assert replay_api.get(url, headers=token()).status_code == 404
    assert replay_api.get(f"{url}/events", headers=token()).status_code == 404
    assert replay_api.delete(url, headers=token()).status_code == 404
    # Another site's recording under this site's path is not touched.
    blog = replay_data["blog"].id
    assert replay_api.delete(f"/v1/sites/{DOCS}/replays/{blog}", headers=token()).status_code == 404
    assert store.chunk_names(BLOG, blog) != []


def test_delete_removes_an_expired_recording_not_yet_swept(
    replay_api: TestClient, replay_settings: Settings, replay_data: dict[str, Recording]
) -> None:
    expired = replay_data["docs_expired"]
    url = f"/v1/sites/{DOCS}/replays/{expired.id}"
    assert replay_api.get(url, headers=token()).status_code == 404
    assert replay_api.delete(url, headers=token()).status_code == 204
    assert ReplayBlobStore(replay_settings.resolved_archive_url).chunk_names(DOCS, expired.id) == []
    assert stored_rows(replay_settings, expired.id) == (0, 0)


def test_an_unreachable_archive_is_a_503(
    replay_settings: Settings, replay_data: dict[str, Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An S3 archive whose endpoint refuses connections (the discard port).
    for name, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "replay-test",
        "AWS_SECRET_ACCESS_KEY": "replay-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    settings = replay_settings.with_overrides(archive_url="s3://replay-unreachable")
    url = f"/v1/sites/{SHOP}/replays/{replay_data['r1'].id}"
    try:
        with TestClient(create_app(settings, clock=CLOCK), raise_server_exceptions=False) as broken:
            events = broken.get(f"{url}/events", headers=token())
            deleted = broken.delete(url, headers=token())
            # The rows were left alone: the recording is still there.
            assert broken.get(url, headers=token()).status_code == 200
    finally:
        # fsspec keeps filesystems per options; this one must not outlive the variables.
        s3fs.S3FileSystem.clear_instance_cache()
    for response, action in ((events, "listed"), (deleted, "changed")):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {
            "error": "archive_unavailable",
            "message": f"the recordings archive could not be {action}",
        }


def test_a_damaged_blob_is_a_503_before_the_answer_starts_or_ends_it(
    replay_api: TestClient, replay_settings: Settings, replay_data: dict[str, Recording]
) -> None:
    damaged = replay_data["docs_damaged"]
    first, second = damaged.chunks
    store = ReplayBlobStore(replay_settings.resolved_archive_url)
    url = f"/v1/sites/{DOCS}/replays/{damaged.id}/events"
    store.write(second.name, b"not gzip")
    # The first blob is sent; the damaged one ends the answer before its closing "]"
    # (a server aborts the connection there).
    started = replay_api.get(url, headers=token())
    assert started.status_code == 200
    assert started.content == b"[" + orjson.dumps(first.events)[1:-1]
    store.write(first.name, b"not gzip either")
    response = replay_api.get(url, headers=token())
    assert response.status_code == 503
    assert response.json()["message"] == "the recordings archive could not be read"
