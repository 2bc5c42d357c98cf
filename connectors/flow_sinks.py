"""Bytewax sinks over the ClickHouse and archive connectors.

Items are `(key, Chunk)` pairs from the flow's batching steps. Every write is
retried on infrastructure errors (see connectors.retry), and every write is
idempotent: events collapse by `event_id` in ClickHouse (and carry a
deduplication token derived from the offsets they cover); archive and
dead-letter files have deterministic names, so a replay overwrites them.

A row the destination refuses for what it contains becomes a dead letter
(`sink_rejected`, see connectors.refusals) and the rest of the batch is written.
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
from bytewax.outputs import (
    DynamicSink,
    FixedPartitionedSink,
    StatefulSinkPartition,
    StatelessSinkPartition,
)

from connectors.archive import ArchiveWriter
from connectors.archive.replays import ReplayBlobStore
from connectors.clickhouse import ClickHouseClient, ClickHouseUnavailable, connect
from connectors.crypto.cipher import ArchiveCipher
from connectors.refusals import RefusedRows, is_refusal, write_around_refusals
from connectors.retry import retry_forever
from foundation.metrics import (
    END_TO_END,
    SINK_BATCH_ROWS,
    SINK_RETRIES,
    SINK_ROWS,
    SINK_SECONDS,
    RunTotals,
)
from operators.batching import Chunk
from operators.columns import without_rows

OutputItem = tuple[str, Chunk]
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    ClickHouseUnavailable,
    OSError,
    ConnectionError,
    TimeoutError,
)


def _record(sink: str, rows: int, started: float, totals: RunTotals | None) -> None:
    SINK_ROWS.labels(sink).inc(rows)
    SINK_BATCH_ROWS.labels(sink).observe(rows)
    SINK_SECONDS.labels(sink).observe(time.perf_counter() - started)
    if totals is not None:
        totals.add_rows_written(sink, rows)


# Recording blobs written at once to an object store by one worker.
REPLAY_WRITERS = 8

# One end-to-end latency sample per this many rows written to `events`.
LATENCY_STRIDE = 20

_DEFERRED_CLOSE: list[ClickHouseClient] = []


def close_deferred_clients() -> None:
    """Close the clients that worker threads left open; call from the main thread."""
    while _DEFERRED_CLOSE:
        _DEFERRED_CLOSE.pop().close()


class _ClickHousePartition(StatefulSinkPartition[Chunk, None]):
    def __init__(
        self,
        url: str,
        database: str,
        table: str,
        totals: RunTotals | None,
        refused: RefusedRows | None,
    ):
        self._client: ClickHouseClient = connect(url, database=database)
        self._table = table
        self._totals = totals
        self._refused = refused
        self._label = f"clickhouse.{table}"
        self._latency_offset = 0  # rows seen, for the latency sampling stride

    def write_batch(self, values: list[Chunk]) -> None:
        # A partitioned sink gets the values; the routing key is already gone.
        for chunk in values:
            started = time.perf_counter()
            written = retry_forever(
                functools.partial(self._insert, chunk),
                retryable=INFRASTRUCTURE_ERRORS,
                what=f"insert into {self._table}",
                on_retry=SINK_RETRIES.labels(self._label).inc,
            )
            _record(self._label, written, started, self._totals)
            if self._table == "events":
                self._record_latency(chunk)

    def _insert(self, chunk: Chunk) -> int:
        """Insert the chunk; rows ClickHouse refuses become dead letters. Rows written."""
        table = chunk.rows
        if not isinstance(table, pa.Table):
            raise TypeError(f"{self._label} takes Arrow tables, got {type(table).__name__}")

        def insert(part: pa.Table, token: str) -> None:
            self._client.insert_arrow(self._table, part, dedup_token=token)

        if self._refused is None:
            # Without a place to keep them, refused rows fail the write as they are.
            insert(table, f"{self._table}:{chunk.name}")
            return table.num_rows
        refused = write_around_refusals(insert, table, f"{self._table}:{chunk.name}")
        self._refused.keep(self._label, table, refused, chunk.name)
        return table.num_rows - len(refused)

    def _record_latency(self, chunk: Chunk) -> None:
        """How long after the collector received them these rows became queryable."""
        table = chunk.rows
        if not isinstance(table, pa.Table) or "received_at" not in table.column_names:
            return
        now_ms = int(time.time() * 1000)
        # Every LATENCY_STRIDE-th row across inserts, so that each sample stands for
        # the same number of events: a per-insert sample would under-weight the big,
        # late inserts of a backlog and flatter the tail.
        first = -self._latency_offset % LATENCY_STRIDE
        self._latency_offset += table.num_rows
        received = table.column("received_at").cast(pa.int64()).to_numpy()
        samples = (now_ms - received[first::LATENCY_STRIDE]).tolist()
        for sample in samples:
            END_TO_END.observe(sample / 1000)
        if self._totals is not None:
            self._totals.add_latencies(samples)

    def snapshot(self) -> None:
        return None

    def close(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._client.close()
        else:
            # The embedded engine hangs when its last connection is closed from
            # a worker thread (a cluster process runs the flow on one): keep the
            # client alive, and let the main thread close it after the run.
            _DEFERRED_CLOSE.append(self._client)


class _ClickHouseTarget:
    """Where a ClickHouse sink writes; the URL is checked when the sink is built."""

    def __init__(
        self,
        url: str,
        database: str,
        table: str = "events",
        totals: RunTotals | None = None,
        *,
        refused: RefusedRows | None = None,
    ):
        connect(url, database=database)  # validates the URL now; connects lazily
        self.url = url
        self.database = database
        self.table = table
        self.totals = totals
        self.refused = refused

    def _partition(self) -> _ClickHousePartition:
        return _ClickHousePartition(self.url, self.database, self.table, self.totals, self.refused)


class ClickHouseSink(_ClickHouseTarget, FixedPartitionedSink[Chunk, None]):
    """Inserts Arrow chunks into a ClickHouse table.

    One partition: it lives on exactly one worker, which the embedded engine
    requires (chdb locks its directory to one process). Every table's sink
    names its partition the same, so all of them land on the same worker.
    """

    def list_parts(self) -> list[str]:
        return ["clickhouse"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _ClickHousePartition:
        return self._partition()


class _ClickHouseServerPartition(StatelessSinkPartition[OutputItem]):
    def __init__(self, inner: _ClickHousePartition) -> None:
        self._inner = inner

    def write_batch(self, items: list[OutputItem]) -> None:
        self._inner.write_batch([chunk for _key, chunk in items])

    def close(self) -> None:
        self._inner.close()


class ClickHouseServerSink(_ClickHouseTarget, DynamicSink[OutputItem]):
    """Inserts Arrow chunks into a ClickHouse server from every worker at once."""

    def build(
        self, step_id: str, worker_index: int, worker_count: int
    ) -> _ClickHouseServerPartition:
        return _ClickHouseServerPartition(self._partition())


def is_embedded(url: str) -> bool:
    return url.startswith("chdb:")


def clickhouse_sink(
    url: str,
    database: str,
    table: str = "events",
    totals: RunTotals | None = None,
    *,
    refused: RefusedRows | None = None,
) -> ClickHouseSink | ClickHouseServerSink:
    """One writer for the embedded engine (it locks its directory), one per worker otherwise."""
    if is_embedded(url):
        return ClickHouseSink(url, database, table, totals, refused=refused)
    return ClickHouseServerSink(url, database, table, totals, refused=refused)


class _ArchivePartition(StatelessSinkPartition[OutputItem]):
    def __init__(
        self,
        writer: ArchiveWriter,
        kind: str,
        totals: RunTotals | None,
        refused: RefusedRows | None,
    ):
        self._writer = writer
        self._kind = kind
        self._totals = totals
        self._refused = refused

    def write_batch(self, items: list[OutputItem]) -> None:
        for _key, chunk in items:
            started = time.perf_counter()
            written = retry_forever(
                functools.partial(self._write, chunk),
                retryable=INFRASTRUCTURE_ERRORS,
                what=f"write {self._kind}",
                on_retry=SINK_RETRIES.labels(self._kind).inc,
            )
            _record(self._kind, written, started, self._totals)

    def _write(self, chunk: Chunk) -> int:
        """Write the chunk; rows the archive format refuses become dead letters."""
        rows: Any = chunk.rows
        if self._kind != "archive":
            self._writer.write_dead_letters(rows, name=chunk.name)
            return chunk.row_count
        try:
            self._writer.write_events(rows, name=chunk.name)
            return chunk.row_count
        except Exception as exc:
            if self._refused is None or not is_refusal(exc):
                raise
        # The file of a bucket must be written whole under its one name, so the rows the
        # format refuses are found by encoding alone, then the rest is written once.
        refused = write_around_refusals(
            lambda part, _token: self._writer.encode_events(part), rows, chunk.name
        )
        kept = without_rows(rows, [index for index, _message in refused])
        self._writer.write_events(kept, name=chunk.name)
        self._refused.keep(self._kind, rows, refused, chunk.name)
        return kept.num_rows


class ArchiveSink(DynamicSink[OutputItem]):
    """Writes event chunks as Parquet files (kind "archive") or rejects as
    JSON lines (kind "dead_letter") through `ArchiveWriter`."""

    def __init__(
        self,
        url: str,
        *,
        kind: str = "archive",
        compression: str = "zstd",
        totals: RunTotals | None = None,
        refused: RefusedRows | None = None,
        cipher: ArchiveCipher | None = None,
    ) -> None:
        if kind not in ("archive", "dead_letter"):
            raise ValueError(f"unknown archive sink kind {kind!r}")
        # With a cipher, dead letters' payloads are written encrypted.
        self.writer = ArchiveWriter(url, compression=compression, cipher=cipher)  # type: ignore[arg-type]
        self.kind = kind
        self.totals = totals
        self.refused = refused

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ArchivePartition:
        return _ArchivePartition(self.writer, self.kind, self.totals, self.refused)


class _ReplayBlobPartition(StatelessSinkPartition[OutputItem]):
    def __init__(self, store: ReplayBlobStore, totals: RunTotals | None) -> None:
        self._store = store
        self._totals = totals
        # Object stores answer a PUT in tens of milliseconds: write a batch's blobs
        # side by side. A local folder gains nothing, so it writes them in turn.
        self._pool = None if store.destination.is_local else ThreadPoolExecutor(REPLAY_WRITERS)

    def write_batch(self, items: list[OutputItem]) -> None:
        blobs = [stored for _key, chunk in items for stored in chunk.rows]
        if not blobs:
            return
        started = time.perf_counter()
        if self._pool is None:
            for stored in blobs:
                self._write(stored.blob_name, stored.blob)
        else:
            list(self._pool.map(lambda s: self._write(s.blob_name, s.blob), blobs))
        _record("replay_blobs", len(blobs), started, self._totals)

    def _write(self, name: str, blob: bytes) -> None:
        retry_forever(
            functools.partial(self._store.write, name, blob),
            retryable=INFRASTRUCTURE_ERRORS,
            what="write a recording blob",
            on_retry=SINK_RETRIES.labels("replay_blobs").inc,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


class ReplayBlobSink(DynamicSink[OutputItem]):
    """Writes recordings' chunk blobs (chunks of `StoredChunk`s) to the archive location,
    each under its deterministic name, so a replay rewrites the same objects."""

    def __init__(
        self, url: str, *, totals: RunTotals | None = None, cipher: ArchiveCipher | None = None
    ) -> None:
        # Checks the URL now, connects lazily; with a cipher the blobs are encrypted.
        self.store = ReplayBlobStore(url, cipher=cipher)
        self.totals = totals

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ReplayBlobPartition:
        return _ReplayBlobPartition(self.store, self.totals)
