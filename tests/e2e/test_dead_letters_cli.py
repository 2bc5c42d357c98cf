"""`insightlite dead-letters` over a real embedded run: the payloads, encrypted on disk,
come back in clear; the filters select; `--payloads` gives records `insightlite run`
accepts again once the cause is fixed; a shredded site's records are skipped."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.e2e.cli import insightlite

MARKER = "PLANTEDDEADLETTERMARKER"


def dead_letters(data_dir: Path, *args: str) -> tuple[list[dict[str, Any]], str]:
    result = insightlite("dead-letters", "--data-dir", str(data_dir), *args)
    return [orjson.loads(line) for line in result.stdout.splitlines()], result.stderr


def _record(line: bytes) -> dict[str, Any] | None:
    """A generated line that is a JSON object (the generator also writes broken ones)."""
    try:
        parsed = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """A run whose input has events rejected for a site not yet allowed, one line that
    is no JSON, and valid events of the allowed site."""
    work = tmp_path_factory.mktemp("dead-letters")
    raw = work / "raw.jsonl"
    insightlite("generate", "--events", "200", "--out", str(raw), "--seed", "4")
    records = [parsed for line in raw.read_bytes().splitlines() if (parsed := _record(line))]
    template = next(r for r in records if r.get("type") == "pageview")
    sites = sorted({r["site_id"] for r in records if isinstance(r.get("site_id"), str)})
    refused = [
        {
            **template,
            "event_id": str(uuid.uuid4()),
            "site_id": "new.example.org",
            "props": {"note": MARKER},
        }
        for _ in range(3)
    ]
    with raw.open("ab") as handle:
        for record in refused:
            handle.write(orjson.dumps(record) + b"\n")
        handle.write(b"this line is not JSON\n")
    data_dir = work / "data"
    allow = {"INSIGHTLITE_SITE_ALLOWLIST": ",".join(s for s in sites if "," not in s)}
    insightlite("run", "--input", f"file:{raw}", "--data-dir", str(data_dir), env=allow)
    return data_dir, template["site_id"], [r["event_id"] for r in refused]


def test_payloads_are_encrypted_on_disk_and_in_clear_here(
    install: tuple[Path, str, list[str]],
) -> None:
    data_dir, _, refused = install
    on_disk = b"".join(
        path.read_bytes() for path in (data_dir / "archive" / "dead_letter").rglob("*.jsonl*")
    )
    assert on_disk and MARKER.encode() not in on_disk
    records, _ = dead_letters(data_dir)
    assert not any("payload_encrypted" in record for record in records)
    planted = [r for r in records if r["site_id"] == "new.example.org"]
    assert sorted(r["payload"]["event_id"] for r in planted) == sorted(refused)
    assert all(r["payload"]["props"]["note"] == MARKER for r in planted)
    assert any(isinstance(r["payload"], str) for r in records)  # the line that is no JSON


def test_filters_select_and_payloads_run_again(
    install: tuple[Path, str, list[str]], tmp_path: Path
) -> None:
    data_dir, _, refused = install
    by_site, _ = dead_letters(data_dir, "--site", "new.example.org")
    by_reason, _ = dead_letters(data_dir, "--reason", "unknown_site")
    by_stage, _ = dead_letters(data_dir, "--stage", "validate", "--site", "new.example.org")
    assert len(by_site) == len(by_reason) == len(by_stage) == len(refused)
    assert dead_letters(data_dir, "--reason", "no_such_reason")[0] == []

    result = insightlite(
        "dead-letters", "--data-dir", str(data_dir), "--reason", "unknown_site", "--payloads"
    )
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(result.stdout)
    payloads = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert sorted(p["event_id"] for p in payloads) == sorted(refused)
    everything = insightlite("dead-letters", "--data-dir", str(data_dir), "--payloads")
    assert "not JSON objects" in everything.stderr
    # The cause fixed (the site allowed), the payloads are accepted.
    rerun = tmp_path / "rerun"
    insightlite(
        "run",
        "--input",
        f"file:{fixed}",
        "--data-dir",
        str(rerun),
        env={"INSIGHTLITE_SITE_ALLOWLIST": "new.example.org"},
    )
    assert dead_letters(rerun)[0] == []


def test_a_shredded_sites_dead_letters_are_skipped(install: tuple[Path, str, list[str]]) -> None:
    data_dir, _, _ = install
    before, _ = dead_letters(data_dir)
    insightlite("keys", "shred", "--site", "new.example.org", "--yes", "--data-dir", str(data_dir))
    after, stderr = dead_letters(data_dir)
    assert len(after) == len(before) - 3
    assert "skipped 3 dead letter(s) of shredded sites" in stderr


def test_a_bad_day_exits_2(tmp_path: Path) -> None:
    result = insightlite("dead-letters", "--data-dir", str(tmp_path), "--day", "May", check=False)
    assert result.returncode == 2 and "not a date" in result.stderr
