r"""The event contract as a msgspec struct: the rules a typed decoder checks in C.

Generated from the same JSON Schema file as the per-row validator
(operators/schema_rules.py): types, enums, UUID formats, patterns, string lengths and
integer bounds. A record the struct decodes passes those rules; one it refuses (for any
reason: malformed JSON, a wrong type, a field the struct does not know, an ``error``
object) goes to the per-row validator, which finds every reason. The struct is
stricter than the contract on purpose, never looser:

- unknown fields are refused (the per-row path ignores them: a rare case, and it keeps
  JSON that only orjson refuses, such as a 1e999 inside an unknown field, off the fast
  path);
- ``null`` is refused for every optional field (the contract has no nullable field); an
  absent one decodes as None (a default outside the field's type, which msgspec allows);
- patterns and UUID formats are checked on the columns with RE2 (``FAST_PATTERNS``),
  whose patterns are stricter than the contract's where RE2 and Python differ (Python's
  ``\s`` is Unicode whitespace, so a URL's host must be ASCII on the fast path);
- numbers (``x``, ``y``, ``scroll_y``) keep their JSON type, their bounds are checked on
  the columns afterwards; so are the per-type requirements, the allow-list, the size
  and the time limits;
- ``props`` stays raw JSON text, decoded by orjson for the rows that have it, so its
  nesting limit and number rules are orjson's;
- the collector's ``visitor`` object is its own struct with the bounds of
  operators/visitor.parse_visitor.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Raw

from operators.user_agent import DEVICE_TYPES
from operators.visitor import BOT_REASON_MAX_CHARS, COUNTRY_MAX_CHARS

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z"
_NO_CONTROL = r"[^\x00-\x1f\x7f-\x{9f}]*\z"
# RE2 patterns (pyarrow.compute) a fast row's strings must match; each implies the
# contract's own pattern or format (the differential tests feed both paths strings
# that tell them apart: newlines, control characters, non-ASCII hosts).
FAST_PATTERNS = {
    "event_id": UUID_PATTERN,
    "session_id": UUID_PATTERN,
    "site_id": r"^[A-Za-z0-9._-]{1,64}\z",
    "url": r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+" + _NO_CONTROL,
    "referrer": "^" + _NO_CONTROL,
}
# Fields whose values differ on nearly every row (the others repeat within a batch).
UNIQUE_FIELDS = frozenset({"event_id"})
# Numbers whose bounds are checked on the columns (a msgspec union cannot carry them).
NUMBER_FIELDS = ("x", "y", "scroll_y")


class FastVisitor(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """The collector's derived fields, as operators/visitor.parse_visitor accepts them."""

    # At most MAX_UINT64 too: checked on the column (msgspec bounds stop at int64).
    ip_hash: Annotated[int, Meta(ge=0)]
    country: Annotated[str, Meta(max_length=COUNTRY_MAX_CHARS)]
    ua_hash: Annotated[int, Meta(ge=0)]
    device: Literal[DEVICE_TYPES]  # type: ignore[valid-type]
    bot: Annotated[str, Meta(min_length=1, max_length=BOT_REASON_MAX_CHARS)] | None


def _field_type(name: str, spec: dict[str, Any]) -> Any:
    kind = spec["type"]
    if kind == "number":
        return int | float
    if kind == "object":
        # Raw JSON text: `props` is decoded by orjson where present; a record with an
        # `error` goes to the per-row path.
        return Raw
    base: Any = {"string": str, "integer": int, "boolean": bool}[kind]
    if "enum" in spec:
        return Literal[tuple(spec["enum"])]
    meta: dict[str, Any] = {}
    if "maxLength" in spec:
        meta["max_length"] = spec["maxLength"]
    if "minLength" in spec:
        meta["min_length"] = spec["minLength"]
    if "minimum" in spec:
        meta["ge"] = spec["minimum"]
    if "maximum" in spec:
        meta["le"] = spec["maximum"]
    return Annotated[base, Meta(**meta)] if meta else base


def fast_record_type(schema: dict[str, Any], extra_required: tuple[str, ...]) -> type:
    """The msgspec struct of one record: contract fields, plus the collector's visitor."""
    required = set(schema["required"]) | set(extra_required)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, spec in schema["properties"].items():
        kind = _field_type(name, spec)
        if name in required:
            fields.append((name, kind))
        else:
            fields.append((name, kind, None))
    fields.append(("visitor", FastVisitor, None))
    return msgspec.defstruct(
        "FastRecord", fields, kw_only=True, forbid_unknown_fields=True, gc=False
    )
