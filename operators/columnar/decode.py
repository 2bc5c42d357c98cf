"""Stage 1 on columns: decode and validate raw records into the DECODED table.

Each record is decoded once by msgspec into the contract's struct
(operators/columnar/fast_contract.py); the rules a struct cannot hold are checked on the
batch's columns (RE2 patterns, number bounds, per-type requirements, the site
allow-list, fixed-point bounds, the clock correction and its limits). A record that
fails any of it, or that the struct refuses, goes to the per-row validator
(operators/validate.py) with the batch's unreadable records: its rejects carry every
reason, exactly as if the whole batch had gone through it, and the records it accepts
rejoin the table in offset order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from operators.columnar.batch import ColumnBatch
from operators.columnar.fast_contract import (
    FAST_PATTERNS,
    NUMBER_FIELDS,
    UNIQUE_FIELDS,
    UUID_PATTERN,
    fast_record_type,
)
from operators.columnar.schemas import DECODED, DH_INTEGRAL, INTEGRAL_BITS
from operators.columns import column_array
from operators.model import Event, RawBatch
from operators.pii import MAX_JSON_DEPTH, REDACTED
from operators.schema_rules import load_contract_schema, per_type_requirements
from operators.validate import COLLECTOR_REQUIRED, EventValidator, ValidationConfig
from operators.visitor import EVENT_VISITOR, MAX_UINT64, VisitorFields

# Columns taken from the struct as they are (their Arrow type from DECODED).
_PLAIN = ("event_id", "session_id", "site_id", "type", "received_at", "url", "referrer")
_OPTIONAL = ("vw", "vh", "fixed", "target", "name", "ip", "ua")


class ColumnarDecoder:
    """Raw batches into DECODED tables; the per-row validator for the rows that need it."""

    def __init__(self, config: ValidationConfig, schema: dict[str, Any] | None = None) -> None:
        schema = schema or load_contract_schema()
        self.config = config
        self.reference = EventValidator(config, schema)
        record_type = fast_record_type(schema, COLLECTOR_REQUIRED)
        self._decode: Callable[[bytes], Any] = msgspec.json.Decoder(record_type).decode
        self._needs = per_type_requirements(schema)
        self._bounds = {
            name: (schema["properties"][name]["minimum"], schema["properties"][name]["maximum"])
            for name in NUMBER_FIELDS
        }
        self._allowlist = pa.array(sorted(config.site_allowlist), pa.string())
        self._extract = _column_extractor(msgspec.structs.fields(record_type))

    def apply(self, raw: RawBatch) -> ColumnBatch:
        decode = self._decode
        max_bytes = self.config.max_event_bytes
        # msgspec raises RecursionError past Python's limit on nesting.
        decode_error = (msgspec.DecodeError, RecursionError)
        fast: list[Any] = []
        fast_records: list[bytes] = []
        fast_offsets: list[int] = []
        slow_records: list[bytes] = []
        slow_offsets: list[int] = []
        for offset, record in zip(raw.record_offsets(), raw.records, strict=True):
            if len(record) <= max_bytes:
                try:
                    fast.append(decode(record))
                except decode_error:
                    pass
                else:
                    fast_records.append(record)
                    fast_offsets.append(offset)
                    continue
            slow_records.append(record)
            slow_offsets.append(offset)
        table, bad = self._fast_table(fast, fast_offsets)
        refused = np.flatnonzero(bad).tolist()
        for index in refused:
            slow_records.append(fast_records[index])
            slow_offsets.append(fast_offsets[index])
        if refused:
            order = sorted(range(len(slow_offsets)), key=slow_offsets.__getitem__)
            slow_records = [slow_records[i] for i in order]
            slow_offsets = [slow_offsets[i] for i in order]
        checked = self.reference.apply(
            RawBatch(raw.source, raw.first_offset, slow_records, slow_offsets, raw.errors)
        )
        table = _in_offset_order(table, bad, checked.events)
        return ColumnBatch(
            source=raw.source,
            first_offset=raw.first_offset,
            last_offset=raw.last_offset,
            events_in=len(raw.records),
            table=table,
            rejected=checked.rejected,
        )

    def _fast_table(self, fast: list[Any], offsets: list[int]) -> tuple[pa.Table, np.ndarray]:
        """The struct-decoded rows as a DECODED table, and which of them fail a column
        check."""
        if not fast:
            return DECODED.empty_table(), np.zeros(0, dtype=bool)
        values = self._extract(fast)
        arrays: dict[str, pa.Array] = {"offset": pa.array(offsets, pa.int64())}
        for name in _PLAIN + _OPTIONAL:
            arrays[name] = column_array(values[name], DECODED.field(name).type)
        bad = np.zeros(len(fast), dtype=bool)
        for name, pattern in FAST_PATTERNS.items():
            bad |= ~_matches(arrays[name], pattern, per_distinct=name not in UNIQUE_FIELDS)
        integral = np.zeros(len(fast), dtype=np.uint8)
        for name in NUMBER_FIELDS:
            numbers = _floats(values[name])  # None: NaN, never out of bounds
            low, high = self._bounds[name]
            bad |= (numbers < low) | (numbers > high)
            integral[_json_integers(values[name], numbers)] |= INTEGRAL_BITS[name]
            arrays[name] = pa.array(numbers, pa.float64(), mask=np.isnan(numbers))
        # `dh` is an integer of the struct: a JSON integer whenever present.
        heights = pa.array(values["dh"], pa.float64())
        integral[np.asarray(heights.is_valid(), dtype=bool)] |= DH_INTEGRAL
        arrays["dh"] = heights
        arrays["numbers_integral"] = pa.array(integral, pa.uint8())
        types = np.asarray(arrays["type"].to_numpy(zero_copy_only=False))
        for event_type, names in self._needs.items():
            of_type = types == event_type
            if of_type.any():
                for name in names:
                    if name in arrays:
                        bad |= of_type & np.asarray(arrays[name].is_null(), dtype=bool)
                    else:  # a field never on the fast path (error): the per-row path
                        bad |= of_type
        bad |= np.fromiter((error is not None for error in values["error"]), bool, len(fast))
        if len(self._allowlist):
            in_list = pc.is_in(arrays["site_id"], value_set=self._allowlist)
            bad |= ~np.asarray(in_list, dtype=bool)
        bad |= self._fixed_out_of_view(arrays)
        ts = self._corrected_ts(values, arrays, bad)
        arrays["ts"] = pa.array(ts, pa.int64())
        self._visitors(values["visitor"], arrays, bad)
        arrays["props_json"] = self._props(values["props"], bad)
        arrays["error_json"] = pa.nulls(len(fast), pa.string())
        return pa.Table.from_arrays([arrays[n] for n in DECODED.names], schema=DECODED), bad

    @staticmethod
    def _fixed_out_of_view(arrays: dict[str, pa.Array]) -> np.ndarray:
        fixed = np.asarray(arrays["fixed"].fill_null(False), dtype=bool)
        if not fixed.any():
            return np.zeros(len(fixed), dtype=bool)
        out = np.zeros(len(fixed), dtype=bool)
        for point, view in (("x", "vw"), ("y", "vh")):
            numbers = np.asarray(arrays[point].fill_null(np.nan), dtype=np.float64)
            limits = np.asarray(arrays[view].cast(pa.float64()).fill_null(np.nan))
            out |= fixed & (numbers > limits)
        return out

    def _corrected_ts(
        self, values: dict[str, list[Any]], arrays: dict[str, pa.Array], bad: np.ndarray
    ) -> Any:
        """``ts = received_at + (ts - sent_at)``; rows beyond the limits are marked bad."""
        ts = np.fromiter(values["ts"], np.int64, len(bad))
        received = np.asarray(arrays["received_at"], dtype=np.int64)
        sent = pa.array(values["sent_at"], pa.int64())
        if sent.null_count < len(sent):
            has_sent = ~np.asarray(sent.is_null(), dtype=bool)
            sent_values = np.asarray(sent.fill_null(0), dtype=np.int64)
            ts = np.where(has_sent, received + (ts - sent_values), ts)
        bad |= ts > received + self.config.max_future_ms
        bad |= ts < received - self.config.max_age_ms
        return ts

    @staticmethod
    def _visitors(visitors: list[Any], arrays: dict[str, pa.Array], bad: np.ndarray) -> None:
        count = len(visitors)
        has = np.fromiter((v is not None for v in visitors), bool, count)
        arrays["has_visitor"] = pa.array(has)
        if not has.any():
            for name in ("ip_hash", "country", "ua_hash", "device", "bot"):
                arrays[name] = pa.nulls(count, DECODED.field(name).type)
            return
        # A record with both the visitor field and ip/ua came from no collector.
        with_client = np.asarray(arrays["ip"].is_valid(), dtype=bool) | np.asarray(
            arrays["ua"].is_valid(), dtype=bool
        )
        bad |= has & with_client
        ip_hashes = [0 if v is None else v.ip_hash for v in visitors]
        ua_hashes = [0 if v is None else v.ua_hash for v in visitors]
        if max(ip_hashes) > MAX_UINT64 or max(ua_hashes) > MAX_UINT64:  # rare: row by row
            for position, (ip_hash, ua_hash) in enumerate(zip(ip_hashes, ua_hashes, strict=True)):
                if ip_hash > MAX_UINT64 or ua_hash > MAX_UINT64:
                    bad[position] = True
                    ip_hashes[position] = ua_hashes[position] = 0
        mask = ~has
        arrays["ip_hash"] = pa.array(ip_hashes, pa.uint64(), mask=mask)
        arrays["ua_hash"] = pa.array(ua_hashes, pa.uint64(), mask=mask)
        arrays["country"] = pa.array([None if v is None else v.country for v in visitors])
        arrays["device"] = pa.array([None if v is None else v.device for v in visitors])
        bots = [None if v is None else v.bot for v in visitors]
        arrays["bot"] = column_array(bots, pa.string())

    @staticmethod
    def _props(props: list[Any], bad: np.ndarray) -> pa.Array:
        """The props' JSON text; a row whose props orjson refuses or that are no object
        goes to the per-row path (which says why)."""
        texts: list[str | None] = []
        loads = orjson.loads
        for position, raw in enumerate(props):
            if raw is None:
                texts.append(None)
                continue
            text = bytes(raw)
            try:
                value = loads(text)
            except orjson.JSONDecodeError:
                value = None
            if type(value) is dict:
                texts.append(text.decode())
            else:
                bad[position] = True
                texts.append(None)
        return column_array(texts, pa.string())


def _column_extractor(
    fields: tuple[msgspec.structs.FieldInfo, ...],
) -> Callable[[list[Any]], dict[str, list[Any]]]:
    """A function giving each struct field's values as a list: one comprehension per
    field with the attribute spelled out, which is several times faster than getattr."""
    body = ", ".join(f"{f.name!r}: [row.{f.name} for row in rows]" for f in fields)
    namespace: dict[str, Any] = {}
    exec(compile(f"def extract(rows):\n    return {{{body}}}\n", "<columns>", "exec"), namespace)
    extract: Callable[[list[Any]], dict[str, list[Any]]] = namespace["extract"]
    return extract


def _in_offset_order(fast: pa.Table, bad: np.ndarray, accepted: Sequence[Event]) -> pa.Table:
    """The fast rows without the bad ones, and the rows the per-row validator accepted,
    in offset order: one copy of the table."""
    if not accepted:
        return fast.filter(pa.array(~bad)) if bad.any() else fast
    good = np.flatnonzero(~bad)
    slow = decoded_rows(accepted)
    offsets = np.concatenate(
        [np.asarray(fast["offset"], dtype=np.int64)[good], np.asarray(slow["offset"])]
    )
    rows = np.concatenate([good, len(fast) + np.arange(len(slow))])
    order = rows[np.argsort(offsets, kind="stable")]
    return pa.concat_tables([fast, slow]).take(pa.array(order))


def _json_integers(values: list[Any], numbers: np.ndarray) -> np.ndarray:
    """Where the client sent an integer: only integral values need the type looked at."""
    whole = np.flatnonzero(numbers == np.trunc(numbers))
    found = np.zeros(len(values), dtype=bool)
    if len(whole):
        found[whole] = np.fromiter((type(values[i]) is int for i in whole.tolist()), bool)
    return found


def _matches(column: pa.Array, pattern: str, *, per_distinct: bool) -> np.ndarray:
    """Whether each string matches the RE2 pattern (nulls match: absent fields). UUIDs
    are checked on the fixed-width bytes; columns with few distinct values once per
    value."""
    if column.null_count == len(column):
        return np.ones(len(column), dtype=bool)
    if pattern == UUID_PATTERN:
        return uuid_mask(column)
    if per_distinct:
        encoded = pc.dictionary_encode(column)
        matches = pc.match_substring_regex(encoded.dictionary, pattern)
        return np.asarray(matches, dtype=bool)[np.asarray(encoded.indices.fill_null(0))] | (
            np.asarray(column.is_null(), dtype=bool)
        )
    return np.asarray(pc.match_substring_regex(column, pattern).fill_null(True), dtype=bool)


_HEX = np.zeros(256, dtype=bool)
_HEX[np.frombuffer(b"0123456789abcdefABCDEF", dtype=np.uint8)] = True
_DASHES = np.array([8, 13, 18, 23])
_HEX_POSITIONS = np.setdiff1d(np.arange(36), _DASHES)


def uuid_mask(column: pa.Array) -> np.ndarray:
    """Whether each string is a UUID in the 8-4-4-4-12 hex form (``FAST_PATTERNS``),
    read on the strings' bytes as an (n, 36) array; nulls count as matching."""
    count = len(column)
    lengths = np.asarray(pc.binary_length(column).fill_null(36), dtype=np.int64)
    result = np.zeros(count, dtype=bool)
    sized = np.flatnonzero((lengths == 36) & np.asarray(column.is_valid(), dtype=bool))
    if len(sized):
        offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset :]
        data = np.frombuffer(column.buffers()[2], dtype=np.uint8)
        first = int(offsets[0])
        if len(sized) == count and int(offsets[count]) - first == 36 * count:
            chars = data[first : first + 36 * count].reshape(count, 36)  # contiguous
        else:
            chars = data[offsets[sized][:, None] + np.arange(36)]
        ok = _HEX[chars[:, _HEX_POSITIONS]].all(axis=1) & (chars[:, _DASHES] == 45).all(axis=1)
        result[sized] = ok
    result |= np.asarray(column.is_null(), dtype=bool)
    return result


def _floats(values: list[Any]) -> np.ndarray:
    """Numbers as float64, None as NaN; an integer too large for a float as infinity
    (out of every bound, so its row takes the per-row path)."""
    try:
        return np.array(values, dtype=np.float64)
    except OverflowError:
        return np.array(
            [
                v if v is None or type(v) is float or abs(v) < 2**1000 else float("inf")
                for v in values
            ],
            dtype=np.float64,
        )


# Containers nested deeper than this are cut before an object is written back to JSON
# text (orjson writes at most 255 levels): masking redacts everything below
# operators.pii.MAX_JSON_DEPTH anyway, so what is cut never reaches an output.
_KEPT_DEPTH = 2 * MAX_JSON_DEPTH


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return orjson.dumps(_cut(value, _KEPT_DEPTH)).decode()


def _cut(value: Any, depth_left: int) -> Any:
    if type(value) is dict:
        if depth_left == 0:
            return REDACTED
        return {key: _cut(item, depth_left - 1) for key, item in value.items()}
    if type(value) is list:
        if depth_left == 0:
            return REDACTED
        return [_cut(item, depth_left - 1) for item in value]
    return value


def decoded_rows(events: Sequence[Event]) -> pa.Table:
    """Events the per-row validator accepted (normalised dicts) as a DECODED table."""
    columns: dict[str, list[Any]] = {name: [] for name in DECODED.names}
    for event in events:
        get = event.get
        columns["offset"].append(event["_offset"])
        for name in _PLAIN:
            columns[name].append(get(name))
        columns["ts"].append(event["ts"])
        integral = 0
        for name, bit in INTEGRAL_BITS.items():
            value = get(name)
            columns[name].append(None if value is None else float(value))
            if type(value) is int:
                integral |= bit
        columns["numbers_integral"].append(integral)
        for name in _OPTIONAL:
            value = get(name)
            # The contract takes an integral float for an integer field.
            columns[name].append(int(value) if type(value) is float else value)
        error, props = get("error"), get("props")
        columns["error_json"].append(None if error is None else _json_text(error))
        columns["props_json"].append(None if props is None else _json_text(props))
        visitor: VisitorFields | None = get(EVENT_VISITOR)
        columns["has_visitor"].append(visitor is not None)
        columns["ip_hash"].append(None if visitor is None else visitor.ip_hash)
        columns["country"].append(None if visitor is None else visitor.country)
        columns["ua_hash"].append(None if visitor is None else visitor.ua_hash)
        columns["device"].append(None if visitor is None else visitor.device)
        columns["bot"].append(None if visitor is None else visitor.bot)
    return pa.Table.from_arrays(
        [column_array(columns[f.name], f.type) for f in DECODED], schema=DECODED
    )
