"""A small pool of ClickHouse clients for the API's worker threads."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator

from connectors.clickhouse import ClickHouseClient


class ClientPool:
    """Up to ``size`` ClickHouse clients, lent to one thread at a time.

    Each client serialises its own calls; several of them let several queries run at
    once (chdb clients over one directory share the process's engine).
    """

    def __init__(self, factory: Callable[[], ClickHouseClient], size: int) -> None:
        if size < 1:
            raise ValueError("a client pool needs at least one client")
        self._factory = factory
        self._idle: queue.LifoQueue[ClickHouseClient] = queue.LifoQueue()
        self._created: list[ClickHouseClient] = []
        self._size = size
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def client(self) -> Iterator[ClickHouseClient]:
        borrowed = self._borrow()
        try:
            yield borrowed
        finally:
            self._idle.put(borrowed)

    def _borrow(self) -> ClickHouseClient:
        with contextlib.suppress(queue.Empty):
            return self._idle.get_nowait()
        with self._lock:
            if len(self._created) < self._size:
                created = self._factory()
                self._created.append(created)
                return created
        return self._idle.get()

    def close(self) -> None:
        """Close every client (chdb frees its directory once all are closed).

        Call it when no query runs; a later borrow opens new clients.
        """
        with self._lock:
            created, self._created = self._created, []
            while True:
                try:
                    self._idle.get_nowait()
                except queue.Empty:
                    break
        for client in created:
            client.close()
