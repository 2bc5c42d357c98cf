"""Privacy is a test: plant personal data everywhere, then scan every output.

The generator plants emails, phone numbers, card numbers, SSNs and IP
addresses in every field it can carry; every raw `ip` of the input is
personal data too. None of them may appear in clear text in ClickHouse, the
Parquet archive, the dead-letter output or the logs. Dead letters are stored with
their payload encrypted: they are scanned as stored, and decrypted, so that the
masking under the encryption stays proven.
"""

from __future__ import annotations

import re

import orjson
import pyarrow.dataset as ds
import pytest

from connectors.archive import ArchiveWriter
from connectors.crypto import archive_cipher
from devtools.generator import (
    PLANTED_CARDS,
    PLANTED_EMAILS,
    PLANTED_IPS,
    PLANTED_PHONES,
    PLANTED_SECRETS,
    PLANTED_SSNS,
    GeneratorConfig,
    generate_records,
    write_jsonl,
)
from foundation.settings import load_settings
from tests.dates import RECENT_NOON_MS
from tests.e2e.cli import insightlite, query_json
from tests.privacy_scan import ip_leaks, planted_leaks

NOW_MS = RECENT_NOON_MS
IP_IN_TEXT = re.compile(r'"ip"\s*:\s*"([^"]+)"')


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    work = tmp_path_factory.mktemp("privacy")
    raw = work / "raw.jsonl"
    config = GeneratorConfig(pii_share=0.5, malformed_share=0.05)
    records = list(generate_records(20_000, seed=11, config=config, now_ms=NOW_MS))
    write_jsonl(raw, records)
    raw_ips: set[str] = set()
    for record in records:
        raw_ips.update(IP_IN_TEXT.findall(record.decode("utf-8", "replace")))
    data_dir = work / "data"
    run = insightlite(
        "run",
        "--input",
        f"file:{raw}",
        "--data-dir",
        str(data_dir),
        "--json",
        env={
            "INSIGHTLITE_LOG_LEVEL": "DEBUG",
            "INSIGHTLITE_LOG_FORMAT": "json",
        },
    )
    summary = orjson.loads(run.stdout.strip().splitlines()[-1])
    tables = {
        table: orjson.dumps(query_json(data_dir, f"SELECT * FROM {table}")).decode()
        for table in ("events", "sessions", "heatmap_aggregates")
    }
    archive = data_dir / "archive"
    parquet = ds.dataset(archive / "events", format="parquet", partitioning="hive").to_table()
    dead_letters = "\n".join(p.read_text() for p in sorted(archive.glob("dead_letter/**/*.jsonl")))
    cipher = archive_cipher(load_settings(data_dir=data_dir))
    decrypted = ArchiveWriter(str(archive), cipher=cipher).read_dead_letters()
    return {
        "summary": summary,
        "raw_ips": raw_ips,
        "clickhouse": "\n".join(tables.values()),
        "archive": orjson.dumps(parquet.to_pylist(), default=str).decode(),
        "dead_letter": dead_letters,
        "dead_letter_decrypted": orjson.dumps(decrypted).decode(),
        "dead_letter_records": decrypted,
        "logs": run.stderr,
        "archive_rows": parquet.num_rows,
    }


def test_outputs_are_not_empty(outputs: dict[str, object]) -> None:
    summary = outputs["summary"]
    assert isinstance(summary, dict)
    assert summary["accepted"] > 10_000 and summary["rejected_total"] > 500
    assert outputs["archive_rows"] == summary["accepted"] - summary["duplicates"]
    assert len(str(outputs["logs"])) > 0 and '"level"' in str(outputs["logs"])
    lines = [line for line in str(outputs["dead_letter"]).splitlines() if line]
    assert len(lines) == summary["rejected_total"]
    # Stored encrypted; decrypted, every record has its payload back.
    assert '"payload"' not in str(outputs["dead_letter"])
    records = outputs["dead_letter_records"]
    assert isinstance(records, list) and len(records) == len(lines)
    assert all("payload" in record for record in records)


@pytest.mark.parametrize(
    "output", ["clickhouse", "archive", "dead_letter", "dead_letter_decrypted", "logs"]
)
def test_no_planted_personal_data_in_clear_text(outputs: dict[str, object], output: str) -> None:
    text = str(outputs[output])
    planted = [
        *PLANTED_EMAILS,
        *PLANTED_PHONES,
        *PLANTED_CARDS,
        *PLANTED_SSNS,
        *PLANTED_IPS,
        *PLANTED_SECRETS,
    ]
    leaks = planted_leaks(text, planted)
    assert not leaks, f"{output} leaks {leaks}"


@pytest.mark.parametrize(
    "output", ["clickhouse", "archive", "dead_letter", "dead_letter_decrypted", "logs"]
)
def test_no_raw_client_ip_in_clear_text(outputs: dict[str, object], output: str) -> None:
    raw_ips = outputs["raw_ips"]
    assert isinstance(raw_ips, set) and len(raw_ips) > 50
    leaks = ip_leaks(str(outputs[output]), raw_ips)
    assert not leaks, f"{output} leaks client IPs {leaks[:5]}"


def test_no_email_shaped_text_anywhere(outputs: dict[str, object]) -> None:
    email = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    for output in ("clickhouse", "archive", "dead_letter", "dead_letter_decrypted", "logs"):
        found = email.findall(str(outputs[output]))
        assert not found, f"{output}: {found[:5]}"
