"""rrweb-shaped recording chunks for the replay step's tests.

`make_chunk()` is one page load as the tracker's replay module sends it and the
collector writes it: a Meta event whose URL has a query string, a full snapshot
of a page with a form (an input with a value, a textarea, a select), text with an
email and a phone number, a comment, a stylesheet; clicks, a rage burst, mouse
moves, typing, a scroll, mutations, console logs and the tracker's custom events
(a page view and an error). Every personal value is one of the `PLANTED` strings.
"""

from __future__ import annotations

from typing import Any

import orjson

RECEIVED_AT = 1_764_590_400_000  # 2025-12-01T12:00:00Z, the collector's clock
# The client's clock runs 2 s behind the collector's: corrected = client + 2000.
CORRECTION_MS = 2_000
T0 = RECEIVED_AT - 12_000  # client time of the first event, a whole second
SENT_AT = T0 + 10_000
SESSION_ID = "9a7c4d2e-5555-4666-8777-888899990000"
CHUNK_ID = "3f2b8c1e-1111-4222-8333-444455556666"
SITE_ID = "shop.example.com"

EMAIL = "jane.doe@example.com"
PHONE = "+1 415-555-0198"
CARD = "4111 1111 1111 1111"
TYPED = "hunter2 is my password"
INPUT_VALUE = "Jane Q. Customer"
TEXTAREA_TEXT = "Please call me after six"
LATER_VALUE = "typed after the snapshot"
CONSOLE_TEXT = "user Jane Doe signed in"
COUPON = "SPRING-SECRET-42"
ORDER_NUMBER = "12345678"
PLANTED = (
    EMAIL,
    "jane.doe%40example.com",
    "415-555-0198",
    CARD,
    TYPED,
    INPUT_VALUE,
    TEXTAREA_TEXT,
    LATER_VALUE,
    CONSOLE_TEXT,
    COUPON,
    ORDER_NUMBER,
    "Jane Doe",
    "81.2.69.160",
)

# Clicks: (client ms, x, y). The middle three are a rage burst: 400 ms, then
# exactly 1000 ms (inclusive) apart, 7 and 8 px (|dx| + |dy|) apart.
CLICKS = [
    (T0 + 1_000, 100, 200),
    (T0 + 3_000, 400, 300),
    (T0 + 3_400, 405, 302),
    (T0 + 4_400, 410, 305),
    (T0 + 8_000, 900, 50),
]
RAGE_CLICKS = CLICKS[1:4]
ERROR_TS = T0 + 7_000
ERROR_MESSAGE = f"Failed to load /api/users/{EMAIL}"
MASKED_ERROR_MESSAGE = "Failed to load /api/users/<email>"
LAST_TS = T0 + 8_500
# Corrected epoch seconds with activity (see the event list below), distinct.
ACTIVE_SECONDS = sorted(
    {
        (ms + CORRECTION_MS) // 1000
        for ms in (
            T0 + 1_000,  # click
            T0 + 500,  # mouse positions: T0 + 2000 - 1500, - 700, - 0
            T0 + 1_300,
            T0 + 2_000,
            T0 + 3_000,  # rage burst
            T0 + 3_400,
            T0 + 4_400,
            T0 + 5_000,  # input
            T0 + 6_000,  # scroll
            T0 + 8_000,  # click
        )
    }
)
PAGES = ["/checkout", "/orders/<num>"]


def element(node_id: int, tag: str, attributes: dict[str, Any], *children: Any) -> dict[str, Any]:
    return {
        "type": 2,
        "tagName": tag,
        "attributes": attributes,
        "childNodes": list(children),
        "id": node_id,
    }


def text(node_id: int, content: str, **extra: Any) -> dict[str, Any]:
    return {"type": 3, "textContent": content, "id": node_id, **extra}


def page_node() -> dict[str, Any]:
    """A serialized document (rrweb-snapshot node types) with the planted values."""
    style = element(
        4, "style", {}, text(5, f'.contact::after {{ content: "{EMAIL}"; }}', isStyle=True)
    )
    head = element(3, "head", {}, style)
    form = element(
        12,
        "form",
        {"action": f"/subscribe?email={EMAIL}"},
        element(13, "input", {"type": "text", "name": "name", "value": INPUT_VALUE}),
        element(14, "textarea", {"value": TEXTAREA_TEXT}, text(15, TEXTAREA_TEXT)),
        element(
            16,
            "select",
            {"value": "express"},
            element(17, "option", {"value": "express", "selected": True}, text(18, "Express")),
        ),
        element(19, "input", {"type": "checkbox", "checked": True, "value": "on"}),
    )
    body = element(
        6,
        "body",
        {},
        element(7, "h1", {"title": f"Contact {EMAIL}"}, text(8, f"Hello {EMAIL}")),
        element(9, "p", {"data-email": "jane@corp.example"}, text(10, f"Call {PHONE}")),
        {"type": 5, "textContent": f"debug ip 81.2.69.160 card {CARD}", "id": 11},
        form,
    )
    html = element(2, "html", {"lang": "en"}, head, body)
    doctype = {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 20}
    return {"type": 0, "childNodes": [doctype, html], "id": 1}


def incremental(ts: int, source: int, **data: Any) -> dict[str, Any]:
    return {"type": 3, "timestamp": ts, "data": {"source": source, **data}}


def click(ts: int, x: float, y: float) -> dict[str, Any]:
    return incremental(ts, 2, type=2, id=13, x=x, y=y)


def make_events() -> list[dict[str, Any]]:
    meta_href = f"https://shop.example.com/checkout?email=jane.doe%40example.com&c={COUPON}#pay"
    pageview_url = f"https://shop.example.com/orders/{ORDER_NUMBER}?coupon={COUPON}#x"
    return [
        {"type": 4, "timestamp": T0, "data": {"href": meta_href, "width": 1440, "height": 900}},
        {
            "type": 2,
            "timestamp": T0 + 10,
            "data": {"node": page_node(), "initialOffset": {"top": 0, "left": 0}},
        },
        {
            "type": 5,
            "timestamp": T0 + 20,
            "data": {"tag": "insightlite:pageview", "payload": {"url": pageview_url}},
        },
        click(*CLICKS[0]),
        incremental(
            T0 + 2_000,
            1,
            positions=[
                {"x": 10, "y": 20, "id": 8, "timeOffset": -1_500},
                {"x": 15, "y": 25, "id": 8, "timeOffset": -700},
                {"x": 20, "y": 30, "id": 8, "timeOffset": 0},
            ],
        ),
        *(click(*point) for point in RAGE_CLICKS),
        incremental(T0 + 5_000, 5, id=13, text=TYPED, isChecked=False, userTriggered=True),
        incremental(
            T0 + 5_500,
            0,
            texts=[{"id": 8, "value": f"Card {CARD}"}],
            attributes=[
                {"id": 13, "attributes": {"value": LATER_VALUE, "title": f"mail {EMAIL}"}},
                {"id": 9, "attributes": {"style": {"color": "red", "content": EMAIL}}},
            ],
            removes=[{"parentId": 6, "id": 11}],
            adds=[
                {
                    "parentId": 6,
                    "nextId": None,
                    "node": element(21, "span", {}, text(22, f"Reach me at {EMAIL}")),
                }
            ],
        ),
        incremental(T0 + 6_000, 3, id=1, x=0, y=640),
        incremental(T0 + 6_500, 11, level="info", trace=["at app.js:1"], payload=[CONSOLE_TEXT]),
        {
            "type": 6,
            "timestamp": T0 + 6_600,
            "data": {
                "plugin": "rrweb/console@1",
                "payload": {"level": "warn", "trace": [], "payload": [f'"{CONSOLE_TEXT}"']},
            },
        },
        {
            "type": 5,
            "timestamp": ERROR_TS,
            "data": {
                "tag": "insightlite:error",
                "payload": {"message": ERROR_MESSAGE, "source": "app.js", "line": 3},
            },
        },
        {
            "type": 5,
            "timestamp": T0 + 7_100,
            "data": {"tag": "checkout", "payload": {"email": EMAIL, "plan": "pro"}},
        },
        click(*CLICKS[4]),
        incremental(LAST_TS, 4, width=1280, height=800),
    ]


def make_chunk(**overrides: Any) -> dict[str, Any]:
    """A chunk record as `replay_events` carries it; `REMOVE` as a value drops a field."""
    chunk: dict[str, Any] = {
        "v": 1,
        "site_id": SITE_ID,
        "session_id": SESSION_ID,
        "chunk_id": CHUNK_ID,
        "seq": 0,
        "sent_at": SENT_AT,
        "events": make_events(),
        "received_at": RECEIVED_AT,
        "country_code": "DE",
        "device_type": "desktop",
    }
    chunk.update(overrides)
    return {key: value for key, value in chunk.items() if value is not REMOVE}


def chunk_record(**overrides: Any) -> bytes:
    return orjson.dumps(make_chunk(**overrides))


REMOVE = object()
