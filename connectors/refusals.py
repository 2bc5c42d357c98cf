"""Rows a destination refuses for what they contain: find them, keep them, write the rest.

The rule of every sink: a row that ClickHouse cannot parse, or that the archive format
cannot encode, becomes a dead letter with the reason ``sink_rejected`` and the
destination's message; the other rows of the batch are written and the worker goes on.
Only infrastructure failures (unreachable, disk, auth) are retried.

The normal case costs nothing extra: the whole batch is written at once. Only when the
destination refuses it for its data is it split in halves, recursively, so that ``k``
bad rows among ``n`` cost about ``2 k log2(n)`` writes, never one write per row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import pyarrow as pa

from connectors.archive import ArchiveWriter
from connectors.clickhouse import QueryError
from foundation.metrics import REJECTED, RunTotals
from operators.dead_letter import dead_letter_record
from operators.model import Reason, Rejected

STAGE_SINK: Final = "sink"
SINK_REJECTED: Final = "sink_rejected"
# A destination's message can quote the refused value at length; the dead letter keeps
# enough of it to tell what went wrong.
MAX_MESSAGE_CHARS: Final = 500

log = logging.getLogger("insightlite.sinks")

# Errors raised while turning values into a destination's format (Arrow, Parquet, the
# native protocol): a refusal of the data, never of the infrastructure.
_CONVERSION_ERRORS: Final = (pa.ArrowException, ValueError, TypeError, OverflowError)


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` refuses the data written (as opposed to failing to reach the place)."""
    if isinstance(exc, QueryError):
        return exc.refused_data
    return isinstance(exc, _CONVERSION_ERRORS)


def write_around_refusals(
    write: Callable[[pa.Table, str], object],
    table: pa.Table,
    token: str,
    *,
    refused: Callable[[BaseException], bool] = is_refusal,
) -> list[tuple[int, str]]:
    """Write ``table``; on a refusal of its data, split it in halves and write those.

    ``write(part, token)`` writes one part under a token that is a deterministic
    function of the part's place in the batch (``token``, then ``token/0``,
    ``token/1/0``...), so a retry or a replay of the same batch repeats the same
    writes under the same tokens. Returns ``(row index, message)`` of each row refused
    on its own; any other error propagates (the caller retries infrastructure errors).
    """
    rejected: list[tuple[int, str]] = []
    pending = [(0, table.num_rows, token)]
    while pending:
        start, length, part_token = pending.pop()
        if length == 0:
            continue
        try:
            write(table.slice(start, length), part_token)
        except Exception as exc:
            if not refused(exc):
                raise
            if length == 1:
                rejected.append((start, str(exc)))
                continue
            half = length // 2
            # Popped last-in first-out: the first half is written first.
            pending.append((start + half, length - half, f"{part_token}/1"))
            pending.append((start, half, f"{part_token}/0"))
    rejected.sort()
    return rejected


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _epoch_ms(value: Any) -> int | None:
    plain = _plain(value)
    return plain if isinstance(plain, int) and not isinstance(plain, bool) else None


class RefusedRows:
    """Keeps the rows a destination refused as dead letters, and counts them.

    The dead letters go to the archive's dead-letter location under a name made from
    the destination and the batch's own deterministic name, so a replay rewrites the
    same file. Rows are already anonymized; they are masked again like every payload.
    """

    def __init__(
        self,
        writer: ArchiveWriter,
        *,
        totals: RunTotals | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._writer = writer
        self._totals = totals
        self._clock = clock

    def keep(
        self, destination: str, table: pa.Table, refused: list[tuple[int, str]], name: str
    ) -> list[dict[str, Any]]:
        """Write the refused rows of ``table`` as dead letters; returns the records."""
        if not refused:
            return []
        failed_at = int(self._clock().timestamp() * 1000)
        records = []
        for index, message in refused:
            (original,) = table.slice(index, 1).to_pylist()
            row = {key: _plain(value) for key, value in original.items()}
            detail = f"{destination}: {message[:MAX_MESSAGE_CHARS]}"
            site_id = row.get("site_id")
            rejected = Rejected(
                stage=STAGE_SINK,
                reasons=[Reason(SINK_REJECTED, detail)],
                payload=row,
                offset=None,
                received_at=_epoch_ms(row.get("received_at")),
                site_id=site_id if isinstance(site_id, str) else None,
            )
            record = dead_letter_record(rejected, destination, failed_at)
            if record["received_at"] is None:
                record["received_at"] = failed_at
            records.append(record)
        self._writer.write_dead_letters(records, name=f"{SINK_REJECTED}-{destination}-{name}")
        REJECTED.labels(STAGE_SINK, SINK_REJECTED).inc(len(records))
        if self._totals is not None:
            self._totals.add_rejected(SINK_REJECTED, len(records))
        log.warning(
            "%s refused %d row(s) of %s; kept as dead letters (reason %s)",
            destination,
            len(records),
            name,
            SINK_REJECTED,
        )
        return records
