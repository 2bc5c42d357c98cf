from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from operators.batching import Chunk, RowBatcher, Span, merge_chunks

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def chunk(source: str, first: int, rows: int) -> Chunk:
    return Chunk((Span(source, first, first + rows - 1),), pa.table({"n": list(range(rows))}))


def test_flushes_on_rows() -> None:
    batcher = RowBatcher(10, timedelta(seconds=2))
    assert batcher.add([chunk("a", 0, 4)], T0) == []
    (out,) = batcher.add([chunk("a", 4, 6)], T0)
    assert out.row_count == 10
    assert out.name == "a-000000000000-000000000009"
    assert batcher.empty


def test_flushes_on_time_with_injected_clock() -> None:
    batcher = RowBatcher(1000, timedelta(seconds=2))
    batcher.add([chunk("a", 0, 3)], T0)
    assert batcher.deadline() == T0 + timedelta(seconds=2)
    assert not batcher.due(T0 + timedelta(seconds=1))
    assert batcher.add([chunk("a", 3, 1)], T0 + timedelta(seconds=1)) == []
    (out,) = batcher.add([], T0 + timedelta(seconds=2))
    assert out.row_count == 4
    assert batcher.deadline() is None


def test_mixed_sources_get_a_stable_hashed_name() -> None:
    merged = merge_chunks([chunk("a", 0, 2), chunk("b", 0, 2)])
    again = merge_chunks([chunk("a", 0, 2), chunk("b", 0, 2)])
    assert merged.name == again.name and merged.name.startswith("mixed-")
    assert merged.row_count == 4


def test_list_rows_and_empty_chunks() -> None:
    batcher = RowBatcher(3, timedelta(seconds=1))
    empty = Chunk((Span("a", 0, 0),), [])
    assert batcher.add([empty], T0) == [] and batcher.empty
    (out,) = batcher.add([Chunk((Span("a", 1, 3),), [1, 2, 3])], T0)
    assert out.rows == [1, 2, 3]


def test_rejects_bad_limit() -> None:
    with pytest.raises(ValueError):
        RowBatcher(0, timedelta(seconds=1))


@given(st.lists(st.integers(min_value=0, max_value=50), max_size=40))
def test_no_row_is_lost_or_repeated(sizes: list[int]) -> None:
    batcher = RowBatcher(64, timedelta(seconds=5))
    out: list[Chunk] = []
    offset = 0
    for step, size in enumerate(sizes):
        rows = Chunk(
            (Span("s", offset, offset + max(size, 1) - 1),), list(range(offset, offset + size))
        )
        offset += size
        out += batcher.add([rows], T0 + timedelta(seconds=step))
    out += batcher.flush()
    flat = [row for item in out for row in item.rows]
    assert flat == list(range(offset))
