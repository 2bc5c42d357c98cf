"""Fixtures of the query API tests, loaded with ``pytest_plugins``.

    pytest_plugins = ["tests.api.query_fixtures"]

- ``pipeline_data`` (session): the real pipeline run once, in this process, over
  20,000 generated events ending at ``NOW``, into a chdb directory of its own (with the
  demo GeoIP database, so countries are filled). No client stays open afterwards: chdb
  serves one directory per process at a time, and other tests open theirs.
- ``clock`` (function): a ``FakeClock`` at ``NOW``, for the app and tokens.
- ``replay_settings``, ``replay_data``, ``replay_api`` (module): session recordings
  (``replay_recordings.recordings()``) in a chdb directory and archive of their own,
  with a retention of ``RETENTION_DAYS``, and the app over them, its clock at the
  recordings' ``NOW`` (not this module's).

Helpers (``serve``, ``make_token``, ...) are in ``query_support``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.query.app import create_app
from api.query.heatmap_cells import busiest_page
from connectors.clickhouse import connect
from devtools.demo_geoip import ensure_demo_mmdb
from foundation.settings import Settings, load_settings
from insightlite.runner import InputSpec, run_pipeline
from tests.api import replay_recordings as replays
from tests.api.query_support import DAY, EVENTS, NOW, SECRET, FakeClock, PipelineData


@pytest.fixture(scope="session")
def pipeline_data(tmp_path_factory: pytest.TempPathFactory) -> PipelineData:
    data_dir: Path = tmp_path_factory.mktemp("query-api-data")
    mmdb = ensure_demo_mmdb(data_dir / "geoip" / "demo-country.mmdb")
    settings = load_settings(
        data_dir=data_dir,
        clickhouse_url=f"chdb:{data_dir / 'clickhouse'}",
        archive_url=str(data_dir / "archive"),
        geoip_db=str(mmdb),
        # These tests are about the figures, not the minimum crowd (tests/api/test_crowd*).
        min_crowd=1,
    )
    summary = run_pipeline(settings, InputSpec("generate", events=EVENTS, seed=11), now=NOW)
    gc.collect()  # every sink's client is closed; drop any stray reference too
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    try:
        sites = [
            str(row[0])
            for row in client.query(
                f"SELECT DISTINCT site_id FROM {client.database}.sessions ORDER BY site_id"
            ).rows
        ]
        busiest = busiest_page(client)
        (session_count,) = client.query(
            f"SELECT count() FROM {client.database}.sessions FINAL"
        ).rows[0]
    finally:
        client.close()
    assert busiest is not None and sites
    return PipelineData(
        settings=settings,
        summary=summary,
        sites=sites,
        day=DAY,
        busiest_site=busiest[0],
        busiest_path=busiest[1],
        session_count=int(session_count),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.timestamp())


@pytest.fixture(scope="module")
def replay_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("replay-api-data")
    return load_settings(
        data_dir=data_dir,
        clickhouse_url=f"chdb:{data_dir / 'clickhouse'}",
        archive_url=str(data_dir / "archive"),
        jwt_secret=SECRET,
        api_clickhouse_pool_size=2,
        replay_retention_days=replays.RETENTION_DAYS,
    )


@pytest.fixture(scope="module")
def replay_data(replay_settings: Settings) -> dict[str, replays.Recording]:
    made = replays.recordings()
    replays.store_recordings(replay_settings, made)
    return made


@pytest.fixture(scope="module")
def replay_api(
    replay_settings: Settings, replay_data: dict[str, replays.Recording]
) -> Iterator[TestClient]:
    app = create_app(replay_settings, clock=replays.CLOCK)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
