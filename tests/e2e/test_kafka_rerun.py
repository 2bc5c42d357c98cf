"""Running `run --input kafka --stop-at-end` again over the same topic counts nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.generator import generate_records
from foundation.settings import load_settings
from insightlite.recovery import with_kafka_recovery
from tests.dates import RECENT_NOON_MS
from tests.e2e.cli import query_json
from tests.flows.test_kafka_flow import raw_topic_with, run_kafka

NOW_MS = RECENT_NOON_MS
EVENTS = 4_000


def _heat_and_sessions(data_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    heat = query_json(
        data_dir,
        "SELECT interaction_type, sum(interaction_count) AS n FROM heatmap_aggregates "
        "GROUP BY interaction_type ORDER BY interaction_type",
    )
    sessions = query_json(
        data_dir,
        "SELECT session_id, start_time, end_time, event_count, page_count "
        "FROM sessions FINAL ORDER BY session_id, start_time",
    )
    return heat, sessions


def test_a_second_run_resumes_where_the_first_stopped(
    kafka_broker: Any, kafka_topics: Any, tmp_path: Path
) -> None:
    prefix = kafka_topics.prefix()
    records = list(generate_records(EVENTS, seed=9, now_ms=NOW_MS))
    raw_topic_with(kafka_broker.bootstrap_servers, prefix, records)
    env = {
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
        "INSIGHTLITE_LOG_LEVEL": "WARNING",
    }
    data_dir = tmp_path / "data"
    first = run_kafka(data_dir, env)
    assert first["events_in"] == EVENTS
    heat, sessions = _heat_and_sessions(data_dir)
    assert sum(row["n"] for row in heat) > 0 and sessions

    second = run_kafka(data_dir, env)
    assert _heat_and_sessions(data_dir) == (heat, sessions)
    # Nothing was read twice: ClickHouse's insert deduplication is not what kept
    # the tables right (it forgets after a window of inserts).
    assert second["events_in"] == 0
    # No --recovery-dir: the store under the data directory is the default.
    assert any((data_dir / "recovery").glob("part-*.sqlite3"))


def test_kafka_input_gets_a_recovery_store_under_the_data_directory(tmp_path: Path) -> None:
    default = with_kafka_recovery(load_settings(data_dir=str(tmp_path)), "kafka")
    assert default.recovery_dir == str(tmp_path / "recovery")
    explicit = load_settings(data_dir=str(tmp_path), recovery_dir=str(tmp_path / "mine"))
    assert with_kafka_recovery(explicit, "kafka").recovery_dir == str(tmp_path / "mine")
    # A file or generated input is read whole every time: nothing to resume.
    plain = load_settings(data_dir=str(tmp_path))
    assert with_kafka_recovery(plain, "generate").recovery_dir == ""
