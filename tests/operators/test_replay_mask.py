from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, cast

import orjson
import pytest

from operators.model import Reason, Rejected
from operators.pii import CARD_MASK, EMAIL_MASK, IP_MASK, PHONE_MASK, REDACTED
from operators.replay_mask import mask_events, mask_page_url, mask_replay
from operators.replay_model import ReplayBatch, ReplayChunk
from tests.operators.replay_factories import (
    CONSOLE_TEXT,
    INPUT_VALUE,
    LATER_VALUE,
    MASKED_ERROR_MESSAGE,
    PLANTED,
    RECEIVED_AT,
    SENT_AT,
    TEXTAREA_TEXT,
    TYPED,
    make_events,
)


def masked_events() -> list[dict[str, Any]]:
    events = make_events()
    mask_events(events)
    return events


def nodes(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.get("childNodes", [])))


def node_by_id(events: list[dict[str, Any]], node_id: int) -> dict[str, Any]:
    return next(node for node in nodes(events[1]["data"]["node"]) if node["id"] == node_id)


def test_no_planted_value_survives() -> None:
    text = orjson.dumps(masked_events()).decode()
    for planted in PLANTED:
        assert planted not in text, planted
    assert "Jane" not in text and "jane" not in text


def test_structure_is_intact() -> None:
    before, after = make_events(), masked_events()
    assert len(after) == len(before)
    assert [(e["type"], e["timestamp"]) for e in after] == [
        (e["type"], e["timestamp"]) for e in before
    ]
    ids_before = [node["id"] for node in nodes(before[1]["data"]["node"])]
    ids_after = [node["id"] for node in nodes(after[1]["data"]["node"])]
    assert ids_after == ids_before and sorted(ids_after) == list(range(1, 21))
    tags_before = [node.get("tagName") for node in nodes(before[1]["data"]["node"])]
    assert [node.get("tagName") for node in nodes(after[1]["data"]["node"])] == tags_before
    # Pointer data is numbers and stays as it was.
    assert after[4] == before[4] and after[5] == before[5]


def test_text_nodes_comments_and_attributes_get_the_pii_masks() -> None:
    events = masked_events()
    assert node_by_id(events, 8)["textContent"] == f"Hello {EMAIL_MASK}"
    assert node_by_id(events, 7)["attributes"]["title"] == f"Contact {EMAIL_MASK}"
    assert node_by_id(events, 10)["textContent"] == f"Call {PHONE_MASK}"
    assert node_by_id(events, 11)["textContent"] == f"debug ip {IP_MASK} card {CARD_MASK}"
    assert node_by_id(events, 12)["attributes"]["action"] == f"/subscribe?email={EMAIL_MASK}"
    # A stylesheet can carry text: it is masked too, and stays a style node.
    style = node_by_id(events, 5)
    assert style["textContent"] == f'.contact::after {{ content: "{EMAIL_MASK}"; }}'
    assert style["isStyle"] is True
    # An attribute whose name says it is personal is redacted whatever it holds.
    assert node_by_id(events, 9)["attributes"]["data-email"] == REDACTED


def test_input_values_become_stars_of_the_same_length() -> None:
    events = masked_events()
    assert node_by_id(events, 13)["attributes"] == {
        "type": "text",
        "name": "name",
        "value": "*" * len(INPUT_VALUE),
    }
    textarea = node_by_id(events, 14)
    assert textarea["attributes"]["value"] == "*" * len(TEXTAREA_TEXT)
    assert node_by_id(events, 15)["textContent"] == "*" * len(TEXTAREA_TEXT)
    assert node_by_id(events, 16)["attributes"]["value"] == "*******"
    # An option's value is the page's markup; checked and selected stay.
    assert node_by_id(events, 17)["attributes"] == {"value": "express", "selected": True}
    assert node_by_id(events, 19)["attributes"] == {
        "type": "checkbox",
        "checked": True,
        "value": "**",
    }
    typed = events[8]["data"]
    assert typed == {
        "source": 5,
        "id": 13,
        "text": "*" * len(TYPED),
        "isChecked": False,
        "userTriggered": True,
    }


def test_mutations_are_masked() -> None:
    mutation = masked_events()[9]["data"]
    assert mutation["texts"] == [{"id": 8, "value": f"Card {CARD_MASK}"}]
    assert mutation["attributes"] == [
        {"id": 13, "attributes": {"value": "*" * len(LATER_VALUE), "title": f"mail {EMAIL_MASK}"}},
        {"id": 9, "attributes": {"style": {"color": "red", "content": EMAIL_MASK}}},
    ]
    assert mutation["removes"] == [{"parentId": 6, "id": 11}]
    (add,) = mutation["adds"]
    assert (add["parentId"], add["nextId"], add["node"]["id"]) == (6, None, 21)
    assert add["node"]["childNodes"][0] == {
        "type": 3,
        "textContent": f"Reach me at {EMAIL_MASK}",
        "id": 22,
    }


def test_page_urls_lose_query_and_fragment() -> None:
    events = masked_events()
    assert events[0]["data"] == {
        "href": "https://shop.example.com/checkout",
        "width": 1440,
        "height": 900,
    }
    assert events[2]["data"]["payload"] == {"url": "https://shop.example.com/orders/<num>"}
    assert mask_page_url("https://u:pw@host.example:8443/a?b#c") == "https://host.example:8443/a"
    assert mask_page_url("/cart?coupon=x#top") == "/cart"
    assert mask_page_url("mailto:jane.doe@example.com") == f"mailto:{EMAIL_MASK}"


def test_console_logs_keep_their_level_only() -> None:
    events = masked_events()
    assert events[11]["data"] == {"source": 11, "level": "info"}
    assert events[12]["data"] == {"plugin": "rrweb/console@1", "payload": {"level": "warn"}}
    assert CONSOLE_TEXT not in orjson.dumps(events).decode()
    odd: list[dict[str, Any]] = [
        {"type": 3, "timestamp": 1, "data": {"source": 11, "level": "x@y.example 123"}}
    ]
    mask_events(odd)
    assert odd[0]["data"] == {"source": 11, "level": "log"}


def test_custom_payloads_get_the_props_masking() -> None:
    events = masked_events()
    assert events[13]["data"]["payload"] == {
        "message": MASKED_ERROR_MESSAGE,
        "source": "app.js",
        "line": 3,
    }
    assert events[14]["data"] == {"tag": "checkout", "payload": {"email": REDACTED, "plan": "pro"}}


def test_masking_is_idempotent_and_keeps_clean_strings() -> None:
    once = masked_events()
    twice = copy.deepcopy(once)
    mask_events(twice)
    assert twice == once
    clean = "A perfectly ordinary heading"
    events: list[Any] = [
        {"type": 2, "timestamp": 1, "data": {"node": {"type": 3, "textContent": clean}}}
    ]
    mask_events(events)
    assert events[0]["data"]["node"]["textContent"] is clean  # no copy of clean text


@pytest.mark.parametrize(
    "event",
    [
        "mail jane.doe@example.com",
        ["jane.doe@example.com", {"k": "jane.doe@example.com"}],
        None,
        17,
        {"type": 2, "timestamp": 1, "data": "jane.doe@example.com"},
        {"type": 2, "timestamp": 1, "data": {"node": ["jane.doe@example.com"]}},
        {"type": 2, "timestamp": 1, "data": {"node": {"childNodes": "jane.doe@example.com"}}},
        {"type": 2, "timestamp": 1, "data": {"node": {"childNodes": ["jane.doe@example.com"]}}},
        {"type": 2, "timestamp": 1, "data": {"node": {"attributes": ["jane.doe@example.com"]}}},
        {"type": 3, "timestamp": 1, "data": {"source": 0, "adds": "jane.doe@example.com"}},
        {
            "type": 3,
            "timestamp": 1,
            "data": {"source": 0, "adds": [{"node": "jane.doe@example.com"}]},
        },
        {
            "type": 3,
            "timestamp": 1,
            "data": {"source": 0, "attributes": [["jane.doe@example.com"]]},
        },
        {"type": 3, "timestamp": 1, "data": {"source": 5, "text": ["jane.doe@example.com"]}},
        {"type": 3.0, "timestamp": 1, "data": {"source": "5", "text": "jane.doe@example.com"}},
        {"type": 4, "timestamp": 1, "data": {"href": ["jane.doe@example.com"]}},
        {"type": 5, "timestamp": 1, "data": {"tag": 5, "payload": "jane.doe@example.com"}},
        {"type": 6, "timestamp": 1, "data": {"plugin": "rrweb/console@1", "payload": "x"}},
        {"type": 9, "timestamp": 1, "data": {"jane.doe@example.com": "jane.doe@example.com"}},
        {True: "jane.doe@example.com", "jane.doe@example.com": [1, 2]},
    ],
)
def test_any_shape_is_masked_without_raising(event: Any) -> None:
    events = [event]
    mask_events(events)
    assert "jane.doe@example.com" not in str(events)


def test_deep_nesting_is_walked_without_recursion() -> None:
    depth = 20_000
    leaf: dict[str, Any] = {"type": 3, "textContent": "mail jane.doe@example.com", "id": depth}
    node = leaf
    for node_id in range(depth - 1, 0, -1):
        node = {"type": 2, "tagName": "div", "attributes": {}, "childNodes": [node], "id": node_id}
    events = [{"type": 2, "timestamp": 1, "data": {"node": node}}]
    mask_events(events)
    assert leaf["textContent"] == f"mail {EMAIL_MASK}"


def chunk(events: Any, offset: int = 0) -> ReplayChunk:
    return ReplayChunk(
        site_id="shop.example.com",
        session_id="9a7c4d2e-5555-4666-8777-888899990000",
        chunk_id="3f2b8c1e-1111-4222-8333-444455556666",
        seq=0,
        sent_at=SENT_AT,
        received_at=RECEIVED_AT,
        country_code="DE",
        device_type="desktop",
        events=events,
        offset=offset,
    )


def test_mask_replay_masks_every_chunk_and_rejects_what_it_cannot_walk() -> None:
    earlier = Rejected("replay_validate", [Reason("bad_uuid", "session_id")], {}, 3)
    batch = ReplayBatch(
        "replay0",
        0,
        5,
        6,
        [chunk(make_events(), 4), chunk(cast(Any, None), 5)],
        rejected=[earlier],
    )
    out = mask_replay(batch)
    assert (out.source, out.first_offset, out.last_offset, out.chunks_in) == ("replay0", 0, 5, 6)
    assert [item.offset for item in out.chunks] == [4]
    assert out.chunks[0].events == masked_events()
    assert out.rejected[0] is earlier
    (failure,) = out.rejected[1:]
    assert (failure.stage, failure.offset, failure.site_id) == (
        "replay_mask",
        5,
        "shop.example.com",
    )
    assert failure.received_at == RECEIVED_AT
    assert [reason.code for reason in failure.reasons] == ["mask_failed"]
    assert isinstance(failure.payload, dict)
    assert failure.payload["chunk_id"] == "3f2b8c1e-1111-4222-8333-444455556666"
