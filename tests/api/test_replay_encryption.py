"""Encrypted recordings through the query API: read decrypted, and once their site's
keys are destroyed (crypto-shredding) answered 410 Gone with the reason, never a 5xx;
other sites' recordings unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from api.query.app import create_app
from connectors.archive.replays import ReplayBlobStore
from connectors.crypto import archive_cipher, is_encrypted, key_store
from foundation.settings import Settings, load_settings
from tests.api import replay_recordings as replays
from tests.api.query_support import SECRET
from tests.api.replay_recordings import BLOG, CLOCK, SHOP, Recording, token


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, Recording]]:
    data_dir: Path = tmp_path_factory.mktemp("encrypted-replays")
    settings = load_settings(
        data_dir=data_dir,
        clickhouse_url=f"chdb:{data_dir / 'clickhouse'}",
        jwt_secret=SECRET,
        api_clickhouse_pool_size=2,
        replay_retention_days=replays.RETENTION_DAYS,
        crypto_key_cache_seconds=0,
    )
    made = {name: replays.recordings()[name] for name in ("r1", "r3", "blog")}
    replays.store_recordings(settings, made)
    # The blobs again, as the pipeline writes them: encrypted.
    store = ReplayBlobStore(settings.resolved_archive_url, cipher=archive_cipher(settings))
    for recording in made.values():
        for chunk in recording.chunks:
            store.write(chunk.name, chunk.blob)
    return settings, made


@pytest.fixture(scope="module")
def api(encrypted: tuple[Settings, dict[str, Recording]]) -> Iterator[TestClient]:
    with TestClient(create_app(encrypted[0], clock=CLOCK), raise_server_exceptions=False) as client:
        yield client


def _events(api: TestClient, site: str, recording: Recording) -> httpx.Response:
    return api.get(f"/v1/sites/{site}/replays/{recording.id}/events", headers=token())


def test_encrypted_recordings_are_served_decrypted(
    api: TestClient, encrypted: tuple[Settings, dict[str, Recording]]
) -> None:
    settings, made = encrypted
    r1 = made["r1"]
    stored = (Path(settings.resolved_archive_url) / r1.chunks[0].name).read_bytes()
    assert is_encrypted(stored)
    response = _events(api, SHOP, r1)
    assert response.status_code == 200
    assert orjson.loads(response.content) == [
        event for chunk in r1.chunks for event in chunk.events
    ]


def test_a_shredded_site_recordings_are_gone(
    api: TestClient, encrypted: tuple[Settings, dict[str, Recording]]
) -> None:
    settings, made = encrypted
    assert key_store(settings, actor="test").shred(SHOP) >= 1
    for name in ("r1", "r3"):
        response = _events(api, SHOP, made[name])
        assert response.status_code == 410
        assert response.json() == {
            "error": "gone",
            "message": f"the data key of site {SHOP} was destroyed: "
            "this object can no longer be read",
        }
    # The summary (metadata in ClickHouse) is still listed until erased.
    summary = api.get(f"/v1/sites/{SHOP}/replays/{made['r1'].id}", headers=token())
    assert summary.status_code == 200
    # Another site's recordings are untouched.
    assert _events(api, BLOG, made["blog"]).status_code == 200
