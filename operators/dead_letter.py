"""Dead-letter records: rejected events as values a person and a program can read.

The payload gets the same masking as stored events: the raw `ip` field is
replaced by a mask, sensitive keys are redacted and every string is masked.
A payload that is not JSON is masked as text, and `"key": value` pairs whose
key looks sensitive are redacted in it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from operators.model import PROCESSOR, Rejected
from operators.pii import IP_MASK, REDACTED, is_sensitive_key, mask_json_value, mask_text

MAX_PAYLOAD_CHARS = 64 * 1024
# Contract fields that hold numbers: kept as they are when they are numbers, so
# that an epoch-millisecond timestamp is never mistaken for a card number.
NUMERIC_FIELDS = frozenset(
    {"v", "ts", "sent_at", "received_at", "x", "y", "vw", "vh", "scroll_y", "dh"}
)
# A JSON-ish "key": value pair inside text that may not parse as JSON.
KEY_VALUE_RE = re.compile(r'"((?:[^"\\]|\\.){1,64})"\s*:\s*("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)')


def _redact_pairs(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if is_sensitive_key(match.group(1)) or match.group(1) == "ip":
            return f'"{match.group(1)}": "{REDACTED}"'
        return match.group(0)

    return KEY_VALUE_RE.sub(replace, text)


def mask_payload(payload: Any) -> Any:
    """The payload of a rejected event with PII masked, ready to store."""
    if isinstance(payload, bytes | bytearray):
        text = bytes(payload[: MAX_PAYLOAD_CHARS * 4]).decode("utf-8", "replace")
        if len(text) > MAX_PAYLOAD_CHARS:
            text = text[:MAX_PAYLOAD_CHARS] + "…[truncated]"
        return mask_text(_redact_pairs(text))
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


def dead_letter_record(rejected: Rejected, source: str, failed_at: int) -> dict[str, Any]:
    """The stored form of a rejected event (a Snowplow-style bad row)."""
    return {
        "stage": rejected.stage,
        "reasons": [
            {"code": reason.code, "detail": mask_text(reason.detail)} for reason in rejected.reasons
        ],
        "processor": PROCESSOR,
        "source": source,
        "offset": rejected.offset,
        "site_id": mask_text(rejected.site_id) if rejected.site_id else None,
        "received_at": rejected.received_at,
        "failed_at": failed_at,
        "payload": mask_payload(rejected.payload),
    }


def dead_letter_records(
    rejected: Iterable[Rejected], source: str, failed_at: int
) -> list[dict[str, Any]]:
    return [dead_letter_record(item, source, failed_at) for item in rejected]
