"""ClickHouse that cannot be used, or is not there: one line naming the fix, no traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.local_kafka import free_port
from tests.e2e.cli import ROOT, insightlite

HOLDER = """
import sys, time
from pathlib import Path
from connectors.clickhouse import connect
client = connect("chdb:" + sys.argv[1])
client.query("SELECT 1")
Path(sys.argv[2]).write_text("holding")
while not Path(sys.argv[3]).exists():
    time.sleep(0.1)
client.close()
"""


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`insightlite ARGS`, which must end by itself rather than wait."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "insightlite.cli", *args],
            cwd=cwd or ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"kept waiting instead of saying what is wrong: {exc}")


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def held_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose embedded ClickHouse another process holds open."""
    data_dir = tmp_path / "held"
    insightlite("schema", "apply", "--data-dir", str(data_dir))
    ready, release = tmp_path / "ready", tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir / "clickhouse"), str(ready), str(release)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        yield data_dir
    finally:
        release.write_text("done")
        holder.wait(timeout=60)


@pytest.mark.parametrize(
    "command",
    [["query", "SELECT 1"], ["schema", "status"], ["schema", "apply"]],
    ids=["query", "schema-status", "schema-apply"],
)
def test_an_unreachable_server_is_one_line(command: list[str]) -> None:
    url = f"clickhouse://default:@127.0.0.1:{free_port()}/insightlite"
    result = _cli(*command, "--clickhouse", url)
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith("insightlite: ")
    assert "127.0.0.1" in line and "INSIGHTLITE_CLICKHOUSE_URL" in line
    debug = _cli(*command, "--clickhouse", url, "--log-level", "DEBUG")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr  # the details are there when asked for


def test_run_waiting_for_an_unreachable_server_logs_single_lines(tmp_path: Path) -> None:
    url = f"clickhouse://default:@127.0.0.1:{free_port()}/insightlite"
    log = tmp_path / "run.log"
    args = ["run", "--input", "generate:10", "--clickhouse", url, "--data-dir", str(tmp_path)]
    with log.open("wb") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "insightlite.cli", *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "(attempt 3)" not in log.read_text() and time.monotonic() < deadline:
            assert run.poll() is None, log.read_text()
            time.sleep(0.2)
    finally:
        run.kill()
        run.wait(timeout=30)
    text = log.read_text()
    assert "(attempt 3)" in text
    assert "Traceback" not in text
    assert "fix INSIGHTLITE_CLICKHOUSE_URL" in text
    assert all(" WARNING " in line for line in text.strip().splitlines())


@pytest.mark.parametrize(
    "command",
    [["query", "SELECT 1"], ["schema", "status"], ["run", "--input", "generate:10"]],
    ids=["query", "schema-status", "run"],
)
def test_an_embedded_directory_held_by_another_process_is_one_line(
    held_data_dir: Path, command: list[str]
) -> None:
    result = _cli(*command, "--data-dir", str(held_data_dir))
    assert result.returncode == 1
    line = _one_line(result)
    assert "is in use by another process" in line
    assert "INSIGHTLITE_DATA_DIR" in line


@pytest.mark.parametrize(
    "command",
    [
        ["query", "SELECT 1"],
        ["schema", "status"],
        ["heatmap", "--site", "shop.example.com", "--path", "/", "--out", "never.png"],
    ],
    ids=["query", "schema-status", "heatmap"],
)
def test_reading_commands_refuse_a_data_directory_without_a_database(
    tmp_path: Path, command: list[str]
) -> None:
    typo = tmp_path / "insightlite-dta"
    result = _cli(*command, "--data-dir", str(typo), cwd=tmp_path)
    assert result.returncode == 2
    line = _one_line(result)
    assert "INSIGHTLITE_DATA_DIR (--data-dir): no InsightLite database in" in line
    assert not typo.exists(), "nothing is created for a command that only reads"

    url = _cli(*command, "--clickhouse", f"chdb:{typo}", cwd=tmp_path)
    assert url.returncode == 2
    assert "INSIGHTLITE_CLICKHOUSE_URL (--clickhouse): no InsightLite database" in url.stderr
    assert not typo.exists()


def test_query_refuses_a_database_name_that_does_not_exist(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    insightlite("schema", "apply", "--data-dir", str(data_dir))
    result = _cli("query", "SELECT 1", "--data-dir", str(data_dir), "--database", "insightlte")
    assert result.returncode == 1
    assert "INSIGHTLITE_CLICKHOUSE_DATABASE (--database): no database 'insightlte'" in (
        _one_line(result)
    )
