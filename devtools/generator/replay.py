"""Session-replay chunks for generated traffic: what the tracker's replay module would
have sent for a share of the generated sessions.

The chunks follow the sessions' own events (same session ids, pages, clicks, moves,
scrolls and errors), so a recording matches its session in the tables. Each page view
is a Meta event, a full snapshot of a small page (with a contact email and phone in its
text, and a sign-up form, for the server's masking to find) and the page-view custom
event; then the interactions as rrweb incremental snapshots, a typed email now and
then, and a mutation after some clicks. Records are what the collector writes to
``replay_events`` (``received_at``, ``country_code`` and ``device_type`` set).
A small share is malformed, for the dead letters.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from foundation.settings import DEFAULT_BOT_PATTERNS, SITE_ID_PATTERN
from operators.user_agent import UserAgentClassifier

# rrweb's numbers (see @rrweb/types).
FULL_SNAPSHOT, INCREMENTAL, META, CUSTOM = 2, 3, 4, 5
MUTATION, MOUSE_MOVE, MOUSE_INTERACTION, SCROLL, INPUT = 0, 1, 2, 3, 5
CLICK = 2
# Node ids of the synthetic page's interactive parts.
DOCUMENT_ID, BUTTON_ID, EMAIL_INPUT_ID, MAIN_ID = 1, 40, 31, 20

EVENTS_PER_CHUNK = 60
STALE_MS = 6 * 3_600_000
EVENT_TYPES = frozenset({"pageview", "click", "move", "scroll", "error", "custom"})
PLANTED_EMAIL = "jane.roe@example.org"
PLANTED_PHONE = "+1 415 555 0142"


@dataclass
class _Recording:
    site_id: str
    session_id: str
    device_type: str
    pages: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)


def _node(
    node_id: int, tag: str, children: list[dict[str, Any]], **attributes: Any
) -> dict[str, Any]:
    return {
        "type": 2,
        "tagName": tag,
        "attributes": attributes,
        "childNodes": children,
        "id": node_id,
    }


def _text(node_id: int, text: str) -> dict[str, Any]:
    return {"type": 3, "textContent": text, "id": node_id}


def page_snapshot(path: str) -> dict[str, Any]:
    """A small page's serialized DOM: header, a heading, text with contact details, a
    sign-up form and a button, with the node ids the interactions refer to."""
    body = _node(
        4,
        "body",
        [
            _node(10, "header", [_node(11, "a", [_text(12, "Home")], href="/")]),
            _node(
                MAIN_ID,
                "main",
                [
                    _node(21, "h1", [_text(22, f"Page {path}")]),
                    _node(
                        23,
                        "p",
                        [
                            _text(
                                24, f"Questions? Write to {PLANTED_EMAIL} or call {PLANTED_PHONE}."
                            )
                        ],
                    ),
                    _node(
                        30,
                        "form",
                        [
                            _node(
                                EMAIL_INPUT_ID, "input", [], type="email", name="email", value=""
                            ),
                            _node(32, "input", [], type="password", name="password", value=""),
                        ],
                    ),
                    _node(BUTTON_ID, "button", [_text(41, "Add to cart")], type="button"),
                ],
            ),
        ],
    )
    head = _node(3, "head", [_node(5, "title", [_text(6, f"Shop {path}")])])
    html = _node(2, "html", [head, body], lang="en")
    return {"type": 0, "childNodes": [html], "id": DOCUMENT_ID}


def _page_view(url: str, ts: int, width: int, height: int) -> list[dict[str, Any]]:
    return [
        {"type": META, "timestamp": ts, "data": {"href": url, "width": width, "height": height}},
        {
            "type": FULL_SNAPSHOT,
            "timestamp": ts + 1,
            "data": {
                "node": page_snapshot(urlsplit(url).path),
                "initialOffset": {"left": 0, "top": 0},
            },
        },
        {
            "type": CUSTOM,
            "timestamp": ts + 2,
            "data": {"tag": "insightlite:pageview", "payload": {"url": url}},
        },
    ]


def _interaction(event: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    ts = int(event["ts"])
    kind = event["type"]
    x = int(event.get("x", 0))
    y = int(event.get("y", 0))
    if kind == "click":
        out = [
            {
                "type": INCREMENTAL,
                "timestamp": ts,
                "data": {
                    "source": MOUSE_INTERACTION,
                    "type": CLICK,
                    "id": BUTTON_ID,
                    "x": x,
                    "y": y,
                },
            }
        ]
        if rng.random() < 0.3:
            added = {
                "parentId": MAIN_ID,
                "nextId": None,
                "node": _text(1000 + ts % 100_000, "Added to cart"),
            }
            out.append(
                {
                    "type": INCREMENTAL,
                    "timestamp": ts + 40,
                    "data": {
                        "source": MUTATION,
                        "texts": [],
                        "attributes": [],
                        "removes": [],
                        "adds": [added],
                    },
                }
            )
        return out
    if kind == "move":
        position = {"x": x, "y": y, "id": MAIN_ID, "timeOffset": 0}
        return [
            {
                "type": INCREMENTAL,
                "timestamp": ts,
                "data": {"source": MOUSE_MOVE, "positions": [position]},
            }
        ]
    if kind == "scroll":
        scroll = {"source": SCROLL, "id": DOCUMENT_ID, "x": 0, "y": int(event.get("scroll_y", 0))}
        return [{"type": INCREMENTAL, "timestamp": ts, "data": scroll}]
    if kind == "error":
        error = event.get("error") or {}
        payload = {"message": str(error.get("message", "Error"))[:200], "kind": "error"}
        return [
            {
                "type": CUSTOM,
                "timestamp": ts,
                "data": {"tag": "insightlite:error", "payload": payload},
            }
        ]
    return []


def _typed_email(ts: int) -> dict[str, Any]:
    typed = {"source": INPUT, "id": EMAIL_INPUT_ID, "text": PLANTED_EMAIL, "isChecked": False}
    return {"type": INCREMENTAL, "timestamp": ts, "data": typed}


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _well_formed(event: dict[str, Any]) -> bool:
    numbers = (event.get(key, 0) for key in ("x", "y", "scroll_y", "vw", "vh"))
    site_id = event.get("site_id")
    if not isinstance(site_id, str) or not SITE_ID_PATTERN.fullmatch(site_id):
        return False
    return event.get("type") in EVENT_TYPES and all(
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e6
        for value in numbers
    )


def _recordings(records: Iterable[bytes], share: float, rng: random.Random) -> list[_Recording]:
    """The recorded sessions, their page views in order, each with its events."""
    classifier = UserAgentClassifier(DEFAULT_BOT_PATTERNS)
    chosen: dict[str, _Recording | None] = {}
    for record in records:
        try:
            event = orjson.loads(record)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("session_id"), str):
            continue
        if not isinstance(event.get("ts"), int) or not isinstance(event.get("url"), str):
            continue
        if not _is_uuid(event["session_id"]) or not _well_formed(event):
            continue  # a malformed event of the traffic: not what a browser saw
        session_id = event["session_id"]
        if session_id not in chosen:
            agent = classifier.classify(str(event.get("ua", "")))
            # The collector answers a bot's chunks 202 and drops them.
            recorded = rng.random() < share and agent.bot_reason is None
            device = agent.device_type
            chosen[session_id] = (
                _Recording(str(event.get("site_id", "")), session_id, device) if recorded else None
            )
        recording = chosen[session_id]
        if recording is None:
            continue
        if event.get("type") == "pageview" or not recording.pages:
            recording.pages.append((event["url"], []))
        recording.pages[-1][1].append(event)
    recordings = [recording for recording in chosen.values() if recording is not None]
    for recording in recordings:
        # The traffic holds deliberately stale events (days late): a recording is
        # what the browser saw live, so they are not part of it.
        newest = max(event["ts"] for _, events in recording.pages for event in events)
        recording.pages = [
            (url, fresh)
            for url, events in recording.pages
            if (fresh := [event for event in events if newest - event["ts"] < STALE_MS])
        ]
    return recordings


def _chunks(recording: _Recording, rng: random.Random) -> Iterator[dict[str, Any]]:
    for url, events in recording.pages:
        events.sort(key=lambda event: event["ts"])
        first = events[0]
        width, height = int(first.get("vw", 1280)), int(first.get("vh", 800))
        rrweb = _page_view(url, int(first["ts"]) - 5, width, height)
        for event in events:
            rrweb += _interaction(event, rng)
            if event["type"] == "click" and rng.random() < 0.1:
                rrweb.append(_typed_email(int(event["ts"]) + 200))
        rrweb.sort(key=lambda item: item["timestamp"])
        for seq, start in enumerate(range(0, len(rrweb), EVENTS_PER_CHUNK)):
            part = rrweb[start : start + EVENTS_PER_CHUNK]
            sent_at = part[-1]["timestamp"] + rng.randint(50, 4000)
            yield {
                "v": 1,
                "site_id": recording.site_id,
                "session_id": recording.session_id,
                "chunk_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "seq": seq,
                "sent_at": sent_at,
                "events": part,
                "received_at": sent_at + rng.randint(20, 300),
                "country_code": "",
                "device_type": recording.device_type,
            }


def _malformed(chunk: dict[str, Any], rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:
        return orjson.dumps(chunk)[: rng.randint(10, 200)]  # cut off: not JSON
    broken = dict(chunk)
    if kind == 1:
        del broken["chunk_id"]
    elif kind == 2:
        broken["session_id"] += "\n"
    elif kind == 3:
        broken["events"] = []
    else:
        broken["events"] = [{"type": 9, "timestamp": chunk["sent_at"]}]
    return orjson.dumps(broken)


def generate_replay_records(
    records: Iterable[bytes], *, seed: int = 0, share: float = 0.3, malformed_share: float = 0.02
) -> list[bytes]:
    """Replay chunk records for ``share`` of the sessions of generated event records,
    deterministic for the same records and seed; ``malformed_share`` of them broken."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for recording in _recordings(records, share, rng):
        for chunk in _chunks(recording, rng):
            if rng.random() < malformed_share:
                out.append(_malformed(chunk, rng))
            else:
                out.append(orjson.dumps(chunk))
    return out
