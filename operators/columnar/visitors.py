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
from operators.columns import column_array
from operators.error_class import classify_error
from operators.visitor import Client, VisitorResolver


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
        sites = table["site_id"].take(indices)
        ips = table["ip"].take(indices).fill_null("")
        agents = table["ua"].take(indices).fill_null("")
        days = pc.divide(table["received_at"].take(indices), DAY_MS)  # integer division
        # One key text per client: the fields cannot hold NUL (the contract's patterns
        # for site, and a separator no JSON string field can hide from the others as
        # the key also carries each field's length).
        key = pc.binary_join_element_wise(
            sites,
            ips,
            agents,
            days.cast(pa.string()),
            pc.binary_length(ips).cast(pa.string()),
            "\x00",
        )
        encoded = pc.dictionary_encode(key).combine_chunks()
        positions = np.asarray(encoded.indices, dtype=np.int64)
        _, firsts = np.unique(positions, return_index=True)
        first_rows = pa.array(firsts)
        # One client per distinct (site, ip, ua, day), received at the day's start.
        clients = [
            Client(site, ip, ua, day * DAY_MS)
            for site, ip, ua, day in zip(
                sites.take(first_rows).to_pylist(),
                ips.take(first_rows).to_pylist(),
                agents.take(first_rows).to_pylist(),
                days.take(first_rows).to_pylist(),
                strict=True,
            )
        ]
        keys = self.resolver.day_keys({client.received_at // DAY_MS for client in clients})
        derived = self.resolver.deriver.derive(clients, keys)
        # Every row's position in `derived`, null for the rows that came with their fields.
        full = np.full(len(table), -1, dtype=np.int64)
        full[legacy] = positions
        take = pa.array(full, mask=full < 0)
        for name in ("ip_hash", "country", "ua_hash", "device", "bot"):
            kind = table.schema.field(name).type
            values = column_array([getattr(fields, name) for fields in derived], kind)
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
