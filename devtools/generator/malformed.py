"""Broken records, as a buggy tracker, a proxy or an attacker would deliver them.

Each maker takes a well-formed event (already stamped by the collector) and returns
bytes the pipeline must refuse: not JSON, not an object, or an object that breaks the
event contract or the 32 KiB size limit. None contains a raw newline, so JSON Lines
files stay one record per line.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

import orjson

MAX_EVENT_BYTES: Final = 32 * 1024
REQUIRED_FIELDS: Final = ("v", "event_id", "site_id", "session_id", "type", "ts", "url")
_TYPE_REQUIRED: Final = {
    "click": ("x", "y", "vw", "vh"),
    "move": ("x", "y", "vw", "vh"),
    "scroll": ("vw", "vh"),
    "error": ("error",),
    "custom": ("name",),
}

Event = dict[str, Any]


def _invalid_json(event: Event, rng: random.Random) -> bytes:
    data = orjson.dumps(event)
    variant = rng.randrange(3)
    if variant == 0:
        # Bytes that are not UTF-8 at all (0xff never occurs in UTF-8).
        return b"\xff\xfe" + data[: rng.randint(10, 60)] + b"\x80\x81"
    if variant == 1:
        # A Python repr: single quotes, True/None.
        return repr(event).encode()
    return data[:-1] + b",}"  # trailing comma


def _truncated(event: Event, rng: random.Random) -> bytes:
    data = orjson.dumps(event)
    # Any proper prefix of a JSON object lacks its closing brace, so it never parses.
    return data[: rng.randrange(1, len(data) - 1)]


def _not_an_object(event: Event, rng: random.Random) -> bytes:
    return rng.choice(
        (
            b"[" + orjson.dumps(event) + b"]",
            orjson.dumps(event["type"]),
            b"42",
            b"null",
            b"[]",
            b"true",
        )
    )


def _missing_field(event: Event, rng: random.Random) -> bytes:
    broken = dict(event)
    candidates = REQUIRED_FIELDS + _TYPE_REQUIRED.get(event["type"], ())
    del broken[rng.choice(candidates)]
    return orjson.dumps(broken)


def _bad_uuid(event: Event, rng: random.Random) -> bytes:
    broken = dict(event)
    field = rng.choice(("event_id", "session_id"))
    broken[field] = rng.choice(
        (
            "not-a-uuid",
            "",
            "12345",
            "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
            event[field][:-1],
            event[field] + "-0",
        )
    )
    return orjson.dumps(broken)


def _unknown_type(event: Event, rng: random.Random) -> bytes:
    broken = dict(event)
    broken["type"] = rng.choice(("hover", "PageView", "", "pageview ", "touchstart"))
    return orjson.dumps(broken)


def _bad_coordinates(event: Event, rng: random.Random) -> bytes:
    broken = dict(event)
    variant = rng.randrange(4)
    if variant == 0:
        broken["x"] = -rng.randint(1, 500)
    elif variant == 1:
        broken["y"] = rng.randint(1_000_001, 10**9)
    elif variant == 2:
        broken["x"] = 1e12
    else:
        broken["vw"] = 0
    return orjson.dumps(broken)


def _oversized(event: Event, rng: random.Random) -> bytes:
    # Contract-valid apart from its size: a tracker that attached a DOM snapshot.
    broken = dict(event)
    chunk = '<div class="product-card"><img src="/img/p.jpg" alt=""></div>'
    broken["props"] = {
        "dom_snapshot": chunk * (MAX_EVENT_BYTES // len(chunk) + rng.randint(2, 200))
    }
    return orjson.dumps(broken)


def _bad_url(event: Event, rng: random.Random) -> bytes:
    broken = dict(event)
    broken["url"] = rng.choice(
        (
            "javascript:alert(document.cookie)",
            "data:text/html,<script>alert(1)</script>",
            "ftp://files.example.com/report.pdf",
            "file:///etc/passwd",
            "/checkout",
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop/popup.html",
        )
    )
    return orjson.dumps(broken)


def _wrong_type(event: Event, rng: random.Random) -> bytes:
    broken = dict(event)
    variant = rng.randrange(5)
    if variant == 0:
        broken["ts"] = str(event["ts"])
    elif variant == 1:
        broken["v"] = 2
    elif variant == 2:
        broken["site_id"] = "my site!"
    elif variant == 3:
        broken["props"] = "plan=pro"
    else:
        broken["ts"] = -event["ts"]
    return orjson.dumps(broken)


MALFORMED_KINDS: Final[dict[str, Callable[[Event, random.Random], bytes]]] = {
    "invalid_json": _invalid_json,
    "truncated": _truncated,
    "not_object": _not_an_object,
    "missing_field": _missing_field,
    "bad_uuid": _bad_uuid,
    "unknown_type": _unknown_type,
    "bad_coordinates": _bad_coordinates,
    "oversized": _oversized,
    "bad_url": _bad_url,
    "wrong_type": _wrong_type,
}
_KIND_NAMES: Final = tuple(MALFORMED_KINDS)


def make_malformed(event: Event, rng: random.Random) -> tuple[str, bytes]:
    """A broken record derived from `event`, and the name of how it is broken."""
    kind = rng.choice(_KIND_NAMES)
    return kind, MALFORMED_KINDS[kind](event, rng)
