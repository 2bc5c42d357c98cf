"""Stages 2 and 3 on columns: visitor fields and bots dropped; error classes.

The same work as operators/bot_filter.py and operators/enrich.py, per distinct value:
a record that still carries ``ip``/``ua`` gets its visitor fields from the shared
VisitorResolver's deriver once per distinct (day, site, IP, user agent); bots are
counted by reason and dropped; error rows (few) get their class from the message.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from foundation.units import DAY_MS
from operators.columnar.batch import ColumnBatch
from operators.columnar.schemas import ENRICHED
from operators.error_class import classify_error
from operators.visitor import Client, VisitorResolver, key_day


class ColumnarBotFilter:
    """Stage 2: every DECODED row with its visitor fields; bots counted and dropped."""

    def __init__(self, resolver: VisitorResolver) -> None:
        self.resolver = resolver

    def apply(self, batch: ColumnBatch) -> ColumnBatch:
        table = batch.table
        legacy = np.flatnonzero(~np.asarray(table["has_visitor"], dtype=bool))
        if len(legacy):
            table = self._derive(table, legacy)
        bots = table["bot"]
        if bots.null_count < len(bots):
            counts = pc.value_counts(bots.drop_null())
            batch.filtered.update(
                {item["values"].as_py(): item["counts"].as_py() for item in counts}
            )
            table = table.filter(bots.is_null())
        batch.table = table
        return batch

    def _derive(self, table: pa.Table, legacy: np.ndarray) -> pa.Table:
        """Derived fields for the rows that carry ip/ua, once per distinct client."""
        indices = pa.array(legacy)
        rows = zip(
            table["site_id"].take(indices).to_pylist(),
            table["ip"].take(indices).fill_null("").to_pylist(),
            table["ua"].take(indices).fill_null("").to_pylist(),
            table["received_at"].take(indices).to_pylist(),
            strict=True,
        )
        distinct: dict[tuple[str, str, str, int], int] = {}
        positions = [
            distinct.setdefault((s, i, u, key_day(r)), len(distinct)) for s, i, u, r in rows
        ]
        # One client per distinct (site, ip, ua, day), received at the day's start.
        clients = [Client(site, ip, ua, day * DAY_MS) for site, ip, ua, day in distinct]
        keys = self.resolver.day_keys({day for *_, day in distinct})
        derived = self.resolver.deriver.derive(clients, keys)
        # Every row's position in `derived`, null for the rows that came with their fields.
        full = np.full(len(table), -1, dtype=np.int64)
        full[legacy] = positions
        take = pa.array(full, mask=full < 0)
        for name in ("ip_hash", "country", "ua_hash", "device", "bot"):
            kind = table.schema.field(name).type
            values = pa.array([getattr(fields, name) for fields in derived], kind)
            column = pc.coalesce(table[name], values.take(take))
            table = table.set_column(table.schema.get_field_index(name), name, column)
        return table


class ColumnarEnricher:
    """Stage 3: DECODED rows of people into ENRICHED: the error class added, the client
    as the record gave it (ip, ua) dropped."""

    def apply(self, batch: ColumnBatch) -> ColumnBatch:
        table = batch.table.drop_columns(["ip", "ua", "has_visitor", "bot"])
        error_class = _error_classes(table)
        batch.table = table.append_column(ENRICHED.field("error_class"), error_class)
        return batch


def _error_classes(table: pa.Table) -> pa.Array:
    types = table["type"]
    is_error = pc.equal(types, "error")
    if not pc.any(is_error).as_py():
        return pa.array([""] * len(table), pa.string())
    classes = [""] * len(table)
    errors = table["error_json"].to_pylist()
    for position in np.flatnonzero(np.asarray(is_error, dtype=bool)).tolist():
        message = orjson.loads(errors[position]).get("message")
        classes[position] = classify_error(message if type(message) is str else "")
    return pa.array(classes, pa.string())
