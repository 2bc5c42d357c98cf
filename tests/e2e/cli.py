"""Running the `insightlite` command as a user would, in a child process.

A child process also keeps the embedded ClickHouse engine (one process per
data directory) out of the test process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[2]


def insightlite(
    *args: str, env: dict[str, str] | None = None, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "insightlite.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"insightlite {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def query_json(data_dir: Path, sql: str, **env: str) -> list[dict[str, Any]]:
    result = insightlite("query", "--data-dir", str(data_dir), "--format", "json", sql, env=env)
    return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]


def start_insightlite(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`insightlite ARGS` in the background, its output (both streams) in ``log``."""
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "insightlite.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0
) -> None:
    """Until ``url`` answers 200; fails with the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"{url} never became ready:\n{log.read_text(errors='replace')[-3000:]}")
