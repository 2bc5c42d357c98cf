"""`insightlite retention apply`, as a user runs it over a local install: the tables'
TTLs follow the settings, the archive's expired days go, and a retention above the
CNIL exemption's limit stops the command at start, naming the setting."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.e2e.cli import insightlite, query_json


def test_apply_sets_the_ttls_and_sweeps_the_archive(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"INSIGHTLITE_DATA_DIR": str(data_dir)}
    insightlite("schema", "apply", env=env)
    old = data_dir / "archive" / "events" / "year=2024" / "month=01" / "day=01" / "a.parquet"
    recent = data_dir / "archive" / "events" / "year=2026" / "month=01" / "day=10" / "a.parquet"
    for path in (old, recent):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    env["INSIGHTLITE_HEATMAP_RETENTION_MONTHS"] = "18"

    dry = orjson.loads(
        insightlite("retention", "apply", "--dry-run", "--now", "2026-02-01T00:00:00Z", env=env)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert dry["ttl_changed"] == ["heatmap_aggregates"]
    assert dry["archive"]["events"] == {"cutoff": "2025-01-01", "files_deleted": 1}
    assert old.exists()

    done = orjson.loads(
        insightlite("retention", "apply", "--now", "2026-02-01T00:00:00Z", env=env)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert done["ttl_changed"] == ["heatmap_aggregates"]
    assert not old.exists() and recent.exists()
    (row,) = query_json(
        data_dir,
        "SELECT engine_full FROM system.tables "
        "WHERE database = 'insightlite' AND name = 'heatmap_aggregates'",
    )
    assert "TTL date_bucket + toIntervalMonth(18)" in row["engine_full"]


def test_a_retention_above_the_exemption_fails_at_start(tmp_path: Path) -> None:
    env = {"INSIGHTLITE_DATA_DIR": str(tmp_path), "INSIGHTLITE_HEATMAP_RETENTION_MONTHS": "30"}
    result = insightlite("retention", "apply", env=env, check=False)
    assert result.returncode == 2
    assert "INSIGHTLITE_HEATMAP_RETENTION_MONTHS" in result.stderr
    assert "CNIL" in result.stderr
