"""The benchmarks still run (on tiny inputs; their figures are not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def figures_of(script: str, *args: str) -> dict[str, Any]:
    """Run ``bench/<script>`` with ``args``; the JSON figures it prints last."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def test_pipeline_benchmark_runs_on_a_small_input() -> None:
    figures = figures_of(
        "pipeline.py", "--events", "3000", "--state-sessions", "2000", "--runs", "1"
    )
    assert figures["full"]["events"] == 3000 and figures["floor"]["events"] == 3000
    assert figures["state"]["state_bytes_per_session"] > 0


def test_replay_benchmark_runs_on_a_small_input() -> None:
    figures = figures_of("replay.py", "--events", "3000")
    assert figures["chunks"] > 0
    for mode in ("stages", "full", "floor"):
        assert figures[mode]["stored"] == figures["chunks"]
    assert figures["bytes_per_minute"] > 0


def test_stages_benchmark_runs_and_both_paths_agree() -> None:
    figures = figures_of("stages.py", "--events", "3000", "--batch", "1000")
    assert figures["same_rows"] is True
    assert figures["columnar"]["events_per_second"] > 0
