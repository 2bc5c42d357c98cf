"""The erasure routes over a real pipeline run (embedded chdb, a local archive): the
permission data:erase on the path's site is required, a session or a site is erased
from every store, and erasing again succeeds with nothing to erase."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.query.app import create_app
from connectors.archive.writer import ArchiveWriter
from connectors.clickhouse import connect
from connectors.crypto import key_store
from foundation.settings import Settings, load_settings
from insightlite.runner import InputSpec, run_pipeline
from tests.api.query_support import NOW, SECRET, FakeClock, bearer, make_token

CLOCK = FakeClock(NOW.timestamp())


@pytest.fixture(scope="module")
def erasure_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("erasure-api-data")
    settings = load_settings(
        data_dir=data_dir,
        clickhouse_url=f"chdb:{data_dir / 'clickhouse'}",
        archive_url=str(data_dir / "archive"),
        jwt_secret=SECRET,
        api_clickhouse_pool_size=2,
        api_dashboard_dir="",
    )
    run_pipeline(settings, InputSpec("generate", events=2_000, seed=5), now=NOW)
    gc.collect()
    return settings


def count(settings: Settings, sql: str, **params: Any) -> int:
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    try:
        return int(client.query(sql.replace("{db}", client.database), params).rows[0][0])
    finally:
        client.close()


def sessions_of(settings: Settings, site: str) -> list[str]:
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    try:
        rows = client.query(
            f"SELECT DISTINCT toString(session_id) FROM {client.database}.events "
            "WHERE site_id = {site:String} ORDER BY 1",
            {"site": site},
        ).rows
    finally:
        client.close()
    return [str(row[0]) for row in rows]


def sites_of(settings: Settings) -> list[str]:
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    try:
        rows = client.query(f"SELECT DISTINCT site_id FROM {client.database}.events ORDER BY 1")
    finally:
        client.close()
    return [str(row[0]) for row in rows.rows]


@pytest.fixture(scope="module")
def api(erasure_settings: Settings) -> Iterator[TestClient]:
    app = create_app(erasure_settings, clock=CLOCK)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def token(site: str, permissions: list[str]) -> dict[str, str]:
    return bearer(make_token(CLOCK, sites=[site], permissions=permissions, sub="privacy-admin"))


def test_session_erase_needs_the_permission_on_the_site(
    api: TestClient, erasure_settings: Settings
) -> None:
    site, other = sites_of(erasure_settings)[:2]
    session = sessions_of(erasure_settings, site)[0]
    url = f"/v1/sites/{site}/sessions/{session}"
    events = "SELECT count() FROM {db}.events WHERE session_id = {session:UUID}"
    before = count(erasure_settings, events, session=session)
    assert before > 0

    refused = api.delete(url, headers=token(site, ["sessions:read", "replay:delete"]))
    assert refused.status_code == 403
    assert "data:erase" in refused.json()["message"]
    other_site = api.delete(url, headers=token(other, ["data:erase"]))
    assert other_site.status_code == 403
    assert api.delete(url).status_code == 401
    assert count(erasure_settings, events, session=session) == before

    dry = api.delete(url, params={"dry_run": "true"}, headers=token(site, ["data:erase"]))
    assert dry.status_code == 200, dry.text
    assert dry.json()["counts"]["clickhouse.events"] == before
    assert count(erasure_settings, events, session=session) == before

    done = api.delete(url, headers=token(site, ["data:erase"]))
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["actor"] == "privacy-admin" and answer["scope"] == "session"
    assert answer["counts"]["clickhouse.events"] == before
    assert answer["counts"]["archive.events_rows"] > 0
    assert count(erasure_settings, events, session=session) == 0
    archived = ArchiveWriter(erasure_settings.resolved_archive_url).read_events()
    assert session not in archived.column("session_id").to_pylist()

    again = api.delete(url, headers=token(site, ["data:erase"]))
    assert again.status_code == 200 and again.json()["total"] == 0


def test_a_bad_session_id_is_a_422(api: TestClient, erasure_settings: Settings) -> None:
    site = sites_of(erasure_settings)[0]
    response = api.delete(f"/v1/sites/{site}/sessions/nope", headers=token(site, ["data:erase"]))
    assert response.status_code == 422


def test_site_erase(api: TestClient, erasure_settings: Settings) -> None:
    site, other = sites_of(erasure_settings)[-2:]
    rows = "SELECT count() FROM {db}.{table} WHERE site_id = {site:String}"
    kept = count(erasure_settings, rows.replace("{table}", "events"), site=other)
    url = f"/v1/sites/{site}/data"
    confirmed = {"confirm": site}
    refused = api.delete(url, params=confirmed, headers=token(other, ["data:erase"]))
    assert refused.status_code == 403
    unconfirmed = api.delete(url, params={"confirm": other}, headers=token(site, ["data:erase"]))
    assert unconfirmed.status_code == 422
    assert api.delete(url, headers=token(site, ["data:erase"])).status_code == 422
    assert count(erasure_settings, rows.replace("{table}", "events"), site=site) > 0
    keys = key_store(erasure_settings, actor="test")
    keys.current(site), keys.current(other)  # each site's data key, created when missing
    # An answer cached before the erasure (the cache is on: 300 s by default).
    stats_url, reader = f"/v1/sites/{site}/stats", token(site, ["stats:read"])
    assert api.get(stats_url, headers=reader).json()["sessions"] > 0

    done = api.delete(url, params=confirmed, headers=token(site, ["data:erase"]))
    assert done.status_code == 200, done.text
    assert done.json()["counts"]["clickhouse.heatmap_aggregates"] > 0
    # No answer computed before the erasure is served after it.
    assert api.get(stats_url, headers=reader).json()["sessions"] == 0
    # Crypto-shredded: the site's data keys are gone, the other site's are not.
    assert done.json()["counts"]["data_key.destroyed"] >= 1
    assert keys.versions(site) == [] and keys.versions(other) != []
    for table in ("events", "sessions", "heatmap_aggregates"):
        assert count(erasure_settings, rows.replace("{table}", table), site=site) == 0
    assert count(erasure_settings, rows.replace("{table}", "events"), site=other) == kept
    archived = ArchiveWriter(erasure_settings.resolved_archive_url).read_events()
    assert site not in set(archived.column("site_id").to_pylist())
    again = api.delete(url, params=confirmed, headers=token(site, ["data:erase"]))
    assert again.status_code == 200 and again.json()["total"] == 0
