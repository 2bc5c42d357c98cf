"""Stage 4 on columns, always last: ENRICHED into ANONYMIZED (the events table's rows).

The same rules as operators/anonymize.py: URLs keep their masked path, referrers their
masked origin and path, targets and custom names are PII-masked, each once per distinct
value; ``props`` and ``error`` objects (few rows) are masked per row, identify() traits
redacted but for the site's allowed keys. ``event_data`` repeats the kept optional
fields as JSON in the reference's order, numbers as the client sent them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from operators.anonymize import no_trait_keys
from operators.columnar.batch import ColumnBatch
from operators.columnar.event_data import event_data_column
from operators.columns import ANONYMIZED_SCHEMA, TIMESTAMP
from operators.pii import (
    json_text_needs_masking,
    mask_json_value,
    mask_referrer,
    mask_text,
    mask_url_path,
)
from operators.traits import IDENTIFY_EVENT_NAME, redact_traits


def per_distinct(column: pa.ChunkedArray | pa.Array, mask: Callable[[str], str]) -> pa.Array:
    """``mask`` applied once per distinct string of the column; nulls stay null."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    masked = pa.array([mask(value) for value in encoded.dictionary.to_pylist()], pa.string())
    return masked.take(encoded.indices)


class ColumnarAnonymizer:
    """ENRICHED into ANONYMIZED; ``allowed_trait_keys`` as in operators/anonymize.py."""

    def __init__(
        self, allowed_trait_keys: Callable[[str], Collection[str]] = no_trait_keys
    ) -> None:
        self.allowed_trait_keys = allowed_trait_keys

    def apply(self, batch: ColumnBatch) -> ColumnBatch:
        table = batch.table
        referrer = table["referrer"]
        columns: dict[str, Any] = {
            "event_id": table["event_id"],
            "session_id": table["session_id"],
            "site_id": table["site_id"],
            "timestamp": table["ts"].cast(TIMESTAMP),
            "event_type": table["type"],
            "event_data": self._event_data(table),
            "url_path": per_distinct(table["url"], mask_url_path),
            "referrer": per_distinct(
                pc.if_else(pc.equal(referrer, ""), None, referrer), mask_referrer
            ).fill_null(""),
            "device_type": table["device"],
            "viewport_width": table["vw"].fill_null(0).cast(pa.uint16()),
            "viewport_height": table["vh"].fill_null(0).cast(pa.uint16()),
            "user_agent_hash": table["ua_hash"],
            "ip_hash": table["ip_hash"],
            "country_code": table["country"],
            "error_class": table["error_class"],
            "received_at": table["received_at"].cast(TIMESTAMP),
            "x": table["x"],
            "y": table["y"],
            "scroll_y": table["scroll_y"],
            "fixed": table["fixed"].fill_null(False),
            "offset": table["offset"],
        }
        batch.table = pa.Table.from_arrays(
            [columns[name] for name in ANONYMIZED_SCHEMA.names], schema=ANONYMIZED_SCHEMA
        )
        return batch

    def _event_data(self, table: pa.Table) -> pa.Array:
        identify = pc.and_(
            pc.equal(table["type"], "custom"), pc.equal(table["name"], IDENTIFY_EVENT_NAME)
        )
        # The site of each identify() call, whose props are traits; null for the rest.
        trait_sites = pc.if_else(identify, table["site_id"], None)
        errors = self._masked_objects(table["error_json"], None)
        props = self._masked_objects(table["props_json"], trait_sites)
        return event_data_column(table, _masked_json_texts, errors, props)

    def _masked_objects(
        self, texts: pa.ChunkedArray, trait_sites: pa.ChunkedArray | None
    ) -> pa.Array | None:
        """A column of JSON objects masked and written back, once per distinct (site,
        text): traits keep the site's allowed keys (``trait_sites`` gives the site of
        the rows whose objects are traits), other objects are PII-masked; None when no
        row has one."""
        if texts.null_count == len(texts):
            return None
        valid = texts.is_valid()
        rows = pa.array(np.flatnonzero(np.asarray(valid, dtype=bool)))
        values = texts.take(rows).to_pylist()
        sites = [None] * len(values) if trait_sites is None else trait_sites.take(rows).to_pylist()
        done: dict[tuple[str | None, str], str] = {}
        masked: list[str] = []
        for site, text in zip(sites, values, strict=True):
            result = done.get((site, text))
            if result is None:
                value = orjson.loads(text)
                if site is not None:
                    value = redact_traits(value, self.allowed_trait_keys(site))
                elif json_text_needs_masking(text):
                    value = mask_json_value(value)
                result = done[(site, text)] = orjson.dumps(value).decode()
            masked.append(result)
        empty = pa.nulls(len(texts), pa.string())
        return pc.replace_with_mask(empty, valid.combine_chunks(), pa.array(masked, pa.string()))


def _masked_json_texts(column: pa.ChunkedArray) -> pa.Array:
    """A text column PII-masked and JSON-encoded, once per distinct value."""
    return per_distinct(column, lambda text: orjson.dumps(mask_text(text)).decode())
