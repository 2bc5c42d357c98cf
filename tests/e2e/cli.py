"""Running the `insightlite` command as a user would, in a child process.

A child process also keeps the embedded ClickHouse engine (one process per
data directory) out of the test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
