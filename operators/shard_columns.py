"""The columns a session shard reads of an anonymized batch, and its click and move
counts worked out on columns (operators/sessionize.py keeps the per-session loop)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from operators.heatmap import (
    DAY_MS,
    FIXED_SUFFIX,
    GRID_COLUMNS,
    HEAT_COUNTS_SCHEMA,
    MAX_GRID_Y,
    GridConfig,
)

# The columns of an anonymized batch the shard reads, in the order of its loop.
SHARD_COLUMNS = (
    "session_id",
    "event_id",
    "site_id",
    "timestamp",
    "event_type",
    "url_path",
    "device_type",
    "country_code",
)


# Texts a shard keeps in session state: one object per distinct value of a batch,
# shared by every session that holds it (to_pylist makes one per row).
SHARED_TEXTS = frozenset({"url_path", "device_type", "country_code", "site_id"})


def click_columns(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x and y (absent: 0), viewport width and the fixed flag, as arrays."""
    return (
        np.asarray(table["x"].fill_null(0.0), dtype=np.float64),
        np.asarray(table["y"].fill_null(0.0), dtype=np.float64),
        np.asarray(table["viewport_width"], dtype=np.int64),
        np.asarray(table["fixed"], dtype=bool),
    )


def page_bottoms(table: pa.Table) -> list[int]:
    """The bottom edge in px each row gives its page: a view's viewport height (-1 when
    unknown), a scroll's scroll_y + viewport height (whole pixels)."""
    height = np.asarray(table["viewport_height"], dtype=np.int64)
    scroll = np.asarray(table["scroll_y"].fill_null(0.0), dtype=np.float64)
    is_scroll = np.asarray(pc.equal(table["event_type"], "scroll"), dtype=bool)
    scrolled = np.trunc(scroll + height).astype(np.int64)
    result: list[int] = np.where(is_scroll, scrolled, np.where(height > 0, height, -1)).tolist()
    return result


def shard_values(table: pa.Table, name: str) -> list[Any]:
    column = table[name]
    if name == "timestamp":
        return column.cast(pa.int64()).to_pylist()  # epoch ms
    if name in SHARED_TEXTS:
        encoded = pc.dictionary_encode(column).combine_chunks()
        texts = encoded.dictionary.to_pylist()
        return [texts[index] for index in encoded.indices.to_pylist()]
    return column.to_pylist()


def pointer_heat(table: pa.Table, rows: list[int], sites: list[str], grid: GridConfig) -> pa.Table:
    """The cell keys (count 1 each) of the clicks and moves at ``rows`` of an anonymized batch,
    ``sites`` being each one's session site: the grid of operators/heatmap.py on columns
    (numpy's float ``//`` is Python's)."""
    if not rows:
        return HEAT_COUNTS_SCHEMA.empty_table()
    at = np.asarray(rows, dtype=np.int64)
    positions = pa.array(at)
    x = np.nan_to_num(np.asarray(table["x"].fill_null(0), dtype=np.float64))[at]
    y = np.nan_to_num(np.asarray(table["y"].fill_null(0), dtype=np.float64))[at]
    width = np.asarray(table["viewport_width"], dtype=np.int64)[at]
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.floor_divide(GRID_COLUMNS * x, np.where(width > 0, width, 1))
    gx = np.where(width > 0, np.minimum(GRID_COLUMNS - 1, columns), 0)
    gy = np.minimum(MAX_GRID_Y, np.floor_divide(y, grid.cell_height_px))
    ts = np.asarray(table["timestamp"].cast(pa.int64()), dtype=np.int64)[at]
    kinds = table["event_type"].take(positions)
    fixed = table["fixed"].take(positions)
    cells = pa.table(
        {
            "site_id": pa.array(sites, pa.string()),
            "url_path": table["url_path"].take(positions),
            "device_type": table["device_type"].take(positions),
            "day": pa.array(ts // DAY_MS, pa.int32()),
            "interaction_type": pc.if_else(
                fixed, pc.binary_join_element_wise(kinds, FIXED_SUFFIX, ""), kinds
            ),
            "grid_x": pa.array(gx.astype(np.uint16), pa.uint16()),
            "grid_y": pa.array(gy.astype(np.uint16), pa.uint16()),
            "window_start": pa.array(ts - ts % grid.window_ms, pa.int64()),
            "session_id": table["session_id"].take(positions),
            "count": pa.array(np.ones(len(rows), dtype=np.uint64), pa.uint64()),
        }
    )
    # One row per event: summed once per window (operators/heatmap.heatmap_table).
    return cells.cast(HEAT_COUNTS_SCHEMA)
