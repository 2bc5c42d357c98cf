"""Run a dataflow on several worker processes on this machine.

Each process builds the flow itself from a module-level factory and joins the
cluster with Bytewax's `cluster_main` over loopback TCP. Python work does not
speed up with threads (the GIL), so processes are how a flow scales on one
machine; across machines, start the same command with `-i`/`-a` on each.
"""

from __future__ import annotations

import multiprocessing
import socket
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig
from bytewax.testing import cluster_main

from connectors.flow_sinks import close_deferred_clients

# A factory returns the flow, or the flow and what to run once it has ended.
FlowFactory = Callable[..., Dataflow | tuple[Dataflow, Callable[[], None]]]
RecoveryFactory = Callable[[], RecoveryConfig | None]


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
    failed = []
    for child in children:
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            failed.append(f"{child.name} timed out")
        elif child.exitcode != 0:
            failed.append(f"{child.name} exited with {child.exitcode}")
    if failed:
        for child in children:
            if child.is_alive():
                child.kill()
        raise RuntimeError("worker processes failed: " + "; ".join(failed))
