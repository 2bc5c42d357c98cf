"""``event_data`` on columns: the JSON object of an event's kept optional fields.

The reference (operators/anonymize.py) builds a dict per event and serialises it with
orjson. Here each field becomes a column of ``,"name":value`` pieces, joined per row
(an absent field adds nothing), so the text is byte for byte the same:

- numbers are formatted by orjson, a whole column per call (integers that the client
  sent as integers stay integers: the DECODED table's ``numbers_integral`` bits);
- texts (masked targets and names) are JSON-encoded once per distinct value;
- ``error`` and ``props`` objects (few rows) are masked and serialised row by row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from operators.columnar.schemas import INTEGRAL_BITS


def orjson_texts(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each non-null value as orjson writes it, nulls kept: one orjson call a column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    present = values.drop_null()
    texts: pa.Array
    if len(present) == 0:
        return pa.nulls(len(values), pa.string())
    # Numbers hold no comma: a JSON array of them splits into each one's text.
    parts = orjson.dumps(present.to_pylist())[1:-1].split(b",")
    texts = pa.array(parts, pa.binary()).cast(pa.string())
    if values.null_count == 0:
        return texts
    mask = pc.is_valid(values)
    return pc.replace_with_mask(pa.nulls(len(values), pa.string()), mask, texts)


def number_texts(values: pa.Array | pa.ChunkedArray, integral: np.ndarray) -> pa.Array:
    """A float64 column's texts, as integers where ``integral`` is set."""
    floats = orjson_texts(values)
    if not integral.any():
        return floats
    ints = orjson_texts(values.cast(pa.int64(), safe=False))
    return pc.if_else(pa.array(integral), ints, floats)


def piece(name: str, texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``,"name":text`` per row, null where the text is null."""
    return pc.binary_join_element_wise(f',"{name}":', texts, "")


def event_data_column(
    table: pa.Table,
    masked_texts: Callable[[pa.ChunkedArray], pa.Array],
    errors: pa.Array | None,
    props: pa.Array | None,
) -> pa.Array:
    """``event_data`` of an ENRICHED table: ``masked_texts`` gives a text column's
    masked JSON strings; ``errors`` and ``props`` the masked objects' JSON (None when
    no row has one)."""
    count = table.num_rows
    if count == 0:
        return pa.array([], pa.string())
    bits = np.asarray(table["numbers_integral"], dtype=np.uint8)
    pieces = [
        piece(name, number_texts(table[name], (bits & bit) != 0))
        for name, bit in INTEGRAL_BITS.items()
    ]
    pieces.append(piece("fixed", pc.if_else(table["fixed"], "true", "false")))
    pieces.append(piece("target", masked_texts(table["target"])))
    pieces.append(piece("name", masked_texts(table["name"])))
    if errors is not None:
        pieces.append(piece("error", errors))
    if props is not None:
        pieces.append(piece("props", props))
    # Not null_handling="skip": it drops the rows where every piece is null. Each
    # piece starts with its comma instead, and the first one goes.
    joined = pc.binary_join_element_wise(*pieces, "", null_handling="replace")
    return pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(joined, 1), "}", "")
