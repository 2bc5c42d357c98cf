"""Helpers of operators/columns.py: lists into Arrow arrays, rows dropped without copies."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from operators.columns import column_array, without_rows


def test_a_list_of_only_none_becomes_a_null_array_of_the_type() -> None:
    array = column_array([None, None, None], pa.string())
    assert array.type == pa.string() and array.null_count == 3 and len(array) == 3
    assert column_array([], pa.int64()).equals(pa.array([], pa.int64()))
    assert column_array([None, "a"], pa.string()).to_pylist() == [None, "a"]


@given(st.lists(st.integers(0, 50), max_size=60), st.lists(st.integers(0, 59), max_size=10))
def test_without_rows_keeps_every_other_row_in_order(values: list[int], drop: list[int]) -> None:
    table = pa.table({"v": pa.array(values, pa.int64())})
    positions = [position for position in drop if position < len(values)]
    kept = without_rows(table, positions)
    assert kept.schema == table.schema
    assert kept["v"].to_pylist() == [v for i, v in enumerate(values) if i not in positions]
