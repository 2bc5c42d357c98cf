"""Run a dataflow on several worker processes on this machine.

Each process builds the flow itself from a module-level factory and joins the
cluster with Bytewax's `cluster_main` over loopback TCP. Python work does not
speed up with threads (the GIL), so processes are how a flow scales on one
machine; across machines, start the same command with `-i`/`-a` on each.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import Any

from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig
from bytewax.testing import cluster_main

from connectors.flow_sinks import close_deferred_clients

# A factory returns the flow, or the flow and what to run once it has ended.
FlowFactory = Callable[..., Dataflow | tuple[Dataflow, Callable[[], None]]]
RecoveryFactory = Callable[[], RecoveryConfig | None]
# How long stopped workers get to finish before they are killed.
STOP_GRACE_S = 10.0


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _process_main(
    factory: FlowFactory,
    kwargs: Mapping[str, Any],
    addresses: list[str],
    process_id: int,
    epoch_interval: timedelta | None,
    recovery: RecoveryFactory | None,
) -> None:
    built = factory(process_id=process_id, process_count=len(addresses), **kwargs)
    flow, on_done = built if isinstance(built, tuple) else (built, None)
    cluster_main(
        flow,
        addresses,
        process_id,
        epoch_interval=epoch_interval,
        recovery_config=recovery() if recovery is not None else None,
    )
    close_deferred_clients()
    if on_done is not None:
        on_done()


def run_local_cluster(
    factory: FlowFactory,
    kwargs: Mapping[str, Any],
    processes: int,
    *,
    epoch_interval: timedelta | None = None,
    timeout: float | None = None,
    recovery_config: RecoveryFactory | None = None,
) -> None:
    """Run `factory(process_id=i, process_count=n, **kwargs)` on n processes until done."""
    if processes < 1:
        raise ValueError("processes must be at least 1")
    addresses = [f"127.0.0.1:{port}" for port in free_ports(processes)]
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(
            target=_process_main,
            args=(factory, dict(kwargs), addresses, index, epoch_interval, recovery_config),
            name=f"insightlite-worker-{index}",
        )
        for index in range(processes)
    ]
    for child in children:
        child.start()
    try:
        with _terminate_as_interrupt():
            failed = _wait(children, timeout)
    except KeyboardInterrupt:
        # Ctrl-C, or SIGTERM from a supervisor: the workers stop with this process
        # rather than being left behind without it.
        _stop(children)
        raise
    if failed:
        for child in children:
            if child.is_alive():
                child.kill()
        raise RuntimeError("worker processes failed: " + "; ".join(failed))


def _wait(children: list[Any], timeout: float | None) -> list[str]:
    failed = []
    for child in children:
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            failed.append(f"{child.name} timed out")
        elif child.exitcode != 0:
            failed.append(f"{child.name} exited with {child.exitcode}")
    return failed


def _stop(children: list[Any]) -> None:
    """SIGINT to every live worker, then SIGKILL to those still alive after the grace."""
    for child in children:
        if child.is_alive() and child.pid is not None:
            os.kill(child.pid, signal.SIGINT)
    for child in children:
        child.join(STOP_GRACE_S)
        if child.is_alive():
            child.kill()
            child.join()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt as SIGINT does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
