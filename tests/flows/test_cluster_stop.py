"""Stopping a multi-process run: its workers stop with it, none is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.cli import ROOT

RUN_TWO_WORKERS = (
    "from flows.cluster import run_local_cluster\n"
    "from tests.flows.factories import endless_flow\n"
    "run_local_cluster(endless_flow, {}, 2)\n"
)


def _workers(parent: int) -> list[int]:
    """The parent's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    workers = []
    for pid in map(int, children):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:
            workers.append(pid)
    return workers


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_workers_stop_with_the_run(stop_signal: signal.Signals) -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", RUN_TWO_WORKERS],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            assert run.poll() is None, run.stderr.read() if run.stderr else ""
            time.sleep(0.2)
            workers = _workers(run.pid)
        assert len(workers) == 2
        time.sleep(1)  # let both join the cluster
        run.send_signal(stop_signal)
        run.wait(timeout=30)
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        if run.poll() is None:
            run.kill()
