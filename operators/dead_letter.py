"""Dead-letter records: rejected events as values a person and a program can read.

The payload gets the same masking as stored events: the raw `ip` field is
replaced by a mask, sensitive keys are redacted and every string is masked.
A payload that is not JSON is masked as text, and `"key": value` pairs whose
key looks sensitive are redacted in it too.

A recording chunk refused by the replay step (stages `replay_*`) gets the
replay masking (`operators.replay_mask`: input values as `*`, page URLs without
query, console logs reduced to their level) on a copy of its events, nested at
most `MAX_EVENT_DEPTH` deep, and keeps only as many events as fit in
`MAX_PAYLOAD_CHARS` (`events_truncated` counts the others): a chunk can be
megabytes, a dead letter stays small enough for any destination. Not JSON,
its `"text"` and `"value"` pairs are redacted too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

from foundation.settings.common import SITE_ID_PATTERN
from operators.model import PROCESSOR, Rejected
from operators.pii import IP_MASK, REDACTED, is_sensitive_key, mask_json_value, mask_text
from operators.replay_mask import mask_events
from operators.replay_model import REPLAY_STAGES
from operators.schema_rules import UUID_RE

MAX_PAYLOAD_CHARS = 64 * 1024
# Contract fields that hold numbers: kept as they are when they are numbers, so
# that an epoch-millisecond timestamp is never mistaken for a card number.
NUMERIC_FIELDS = frozenset(
    {"v", "ts", "sent_at", "received_at", "x", "y", "vw", "vh", "scroll_y", "dh"}
)
# A JSON-ish "key": value pair inside text that may not parse as JSON.
KEY_VALUE_RE = re.compile(r'"((?:[^"\\]|\\.){1,64})"\s*:\s*("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)')
# Keys of a recording that hold what a person typed (Input events, `value` attributes).
REPLAY_VALUE_KEYS = frozenset({"text", "value"})
# How deep a dead-lettered recording event is kept; deeper containers are redacted.
MAX_EVENT_DEPTH = 32
TRUNCATED = "…[truncated]"


def _redact_pairs(text: str, also: frozenset[str] = frozenset()) -> str:
    def replace(match: re.Match[str]) -> str:
        if is_sensitive_key(match.group(1)) or match.group(1) == "ip" or match.group(1) in also:
            return f'"{match.group(1)}": "{REDACTED}"'
        return match.group(0)

    return KEY_VALUE_RE.sub(replace, text)


def _masked_text(payload: bytes | bytearray, also: frozenset[str] = frozenset()) -> str:
    text = bytes(payload[: MAX_PAYLOAD_CHARS * 4]).decode("utf-8", "replace")
    if len(text) > MAX_PAYLOAD_CHARS:
        text = text[:MAX_PAYLOAD_CHARS] + TRUNCATED
    return mask_text(_redact_pairs(text, also))


def mask_payload(payload: Any) -> Any:
    """The payload of a rejected event with PII masked, ready to store."""
    if isinstance(payload, bytes | bytearray):
        return _masked_text(payload)
    if isinstance(payload, dict):
        masked: dict[str, Any] = {}
        for key, value in payload.items():
            if key == "ip":
                masked[key] = IP_MASK
            elif key in NUMERIC_FIELDS and type(value) in (int, float):
                masked[key] = value
            elif not (isinstance(key, str) and key.startswith("_")):
                masked_pair = mask_json_value({key: value})
                if isinstance(masked_pair, dict):
                    masked.update(masked_pair)
        return masked
    return mask_json_value(payload)


def _bounded_copy(value: Any, max_depth: int) -> Any:
    """A copy of parsed JSON whose containers below `max_depth` levels are `REDACTED`."""
    if type(value) is not dict and type(value) is not list:
        return value
    root: Any = {} if type(value) is dict else []
    stack = [(value, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        items = source.items() if type(source) is dict else enumerate(source)
        for key, item in items:
            copied = item
            if type(item) is dict or type(item) is list:
                if depth >= max_depth:
                    copied = REDACTED
                else:
                    copied = {} if type(item) is dict else []
                    stack.append((item, copied, depth + 1))
            if type(target) is dict:
                target[key] = copied
            else:
                target.append(copied)
    return root


def _json_size(value: Any) -> int | None:
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return None


def _sampled_events(events: Any, budget: int) -> tuple[Any, int]:
    """Masked copies of the first events that fit in `budget` characters, and how many
    were left out."""
    if type(events) is not list:
        masked = mask_json_value(_bounded_copy(events, MAX_EVENT_DEPTH))
        size = _json_size(masked)
        return (masked, 0) if size is not None and size <= budget else (TRUNCATED, 0)
    kept: list[Any] = []
    for event in events:
        if budget <= 2:
            break
        copy = [_bounded_copy(event, MAX_EVENT_DEPTH)]
        mask_events(copy)
        size = _json_size(copy[0])
        if size is not None and size <= budget:
            kept.append(copy[0])
            budget -= size + 1
    return kept, len(events) - len(kept)


def mask_replay_payload(payload: Any) -> Any:
    """The payload of a rejected recording chunk, masked and cut to a bounded size."""
    if isinstance(payload, bytes | bytearray):
        return _masked_text(payload, REPLAY_VALUE_KEYS)
    if type(payload) is str:
        head = payload[: MAX_PAYLOAD_CHARS + 1].encode("utf-8", "replace")
        return _masked_text(head, REPLAY_VALUE_KEYS)
    if type(payload) is not dict:
        return _sampled_events(payload, MAX_PAYLOAD_CHARS)[0]
    masked: dict[str, Any] = {}
    budget = MAX_PAYLOAD_CHARS
    for key, value in payload.items():
        if key == "events":
            continue
        part = mask_payload({key: _bounded_copy(value, MAX_EVENT_DEPTH)})
        size = _json_size(part)
        if size is None or size > budget:
            part = {mask_text(str(key)[:64]): TRUNCATED}
            size = len(TRUNCATED)
        masked.update(part)
        budget -= size
    if "events" in payload:
        masked["events"], left_out = _sampled_events(payload["events"], budget)
        if left_out:
            masked["events_truncated"] = left_out
    return masked


def _payload_field(payload: Any, name: str, pattern: re.Pattern[str]) -> str | None:
    """A field of a decoded payload when it is a valid value of its kind, else None."""
    value = payload.get(name) if isinstance(payload, dict) else None
    return value if type(value) is str and pattern.fullmatch(value) else None


def dead_letter_record(rejected: Rejected, source: str, failed_at: int) -> dict[str, Any]:
    """The stored form of a rejected event (a Snowplow-style bad row).

    ``site_id`` and ``session_id`` say whose record it is (to route, count and erase it
    while its payload is encrypted): the site id from the stage, else the payload's when
    valid; the session id the payload's when it is a valid UUID; None otherwise.
    """
    site_id = rejected.site_id or _payload_field(rejected.payload, "site_id", SITE_ID_PATTERN)
    return {
        "stage": rejected.stage,
        "reasons": [
            {"code": reason.code, "detail": mask_text(reason.detail)} for reason in rejected.reasons
        ],
        "processor": PROCESSOR,
        "source": source,
        "offset": rejected.offset,
        "site_id": mask_text(site_id) if site_id else None,
        "session_id": _payload_field(rejected.payload, "session_id", UUID_RE),
        "received_at": rejected.received_at,
        "failed_at": failed_at,
        "payload": (
            mask_replay_payload(rejected.payload)
            if rejected.stage in REPLAY_STAGES
            else mask_payload(rejected.payload)
        ),
    }


def dead_letter_records(
    rejected: Iterable[Rejected], source: str, failed_at: int
) -> list[dict[str, Any]]:
    return [dead_letter_record(item, source, failed_at) for item in rejected]
