"""Arbitrary JSON as rrweb events through validate, mask and stats: nothing raises,
every chunk is stored or rejected, and a planted email never reaches a blob, a row or
a dead letter."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.units import DAY_MS, HOUR_MS
from operators.dead_letter import dead_letter_records
from operators.model import RawBatch
from operators.replay_blobs import decode_blob
from operators.replay_mask import mask_replay
from operators.replay_model import REPLAY_STAGES, ReplayBatch, ReplayChunk
from operators.replay_stats import ReplayStats, replay_chunks_table
from operators.replay_validate import ReplayValidator
from tests.operators.replay_factories import (
    CHUNK_ID,
    EMAIL,
    RECEIVED_AT,
    SESSION_ID,
    make_chunk,
)

VALIDATOR = ReplayValidator()
STATS = ReplayStats()

plain_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
strings = st.one_of(
    plain_text,
    st.builds(lambda a, b: a + EMAIL + b, plain_text, plain_text),
    st.sampled_from(
        [
            "",
            "\x00",
            "insightlite:pageview",
            "insightlite:error",
            "rrweb/console@1",
            "https://shop.example.com/a/" + EMAIL + "?q=" + EMAIL,
            "input",
            "TEXTAREA",
            "value",
        ]
    ),
)
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-100_000, max_value=100_000),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
keys = st.one_of(
    st.sampled_from(
        [
            "type",
            "source",
            "node",
            "childNodes",
            "attributes",
            "tagName",
            "textContent",
            "value",
            "text",
            "texts",
            "adds",
            "positions",
            "timeOffset",
            "href",
            "url",
            "tag",
            "payload",
            "plugin",
            "level",
            "message",
            "x",
            "y",
            "id",
            "data-email",
        ]
    ),
    strings,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)
nodes = st.recursive(
    st.fixed_dictionaries(
        {"type": st.integers(min_value=0, max_value=5)},
        optional={"textContent": strings, "id": numbers, "isStyle": st.booleans()},
    ),
    lambda children: st.fixed_dictionaries(
        {"type": st.integers(min_value=0, max_value=5)},
        optional={
            "tagName": st.one_of(st.sampled_from(["input", "textarea", "select", "div"]), scalars),
            "attributes": st.one_of(st.dictionaries(keys, json_values, max_size=4), scalars),
            "childNodes": st.one_of(st.lists(children, max_size=4), scalars),
            "textContent": json_values,
            "id": numbers,
        },
    ),
    max_leaves=20,
)
event_data = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "source": st.one_of(st.integers(min_value=0, max_value=16), scalars),
            "type": st.one_of(st.integers(min_value=0, max_value=10), scalars),
            "node": st.one_of(nodes, json_values),
            "adds": st.one_of(
                st.lists(st.fixed_dictionaries({"node": nodes}, optional={"parentId": numbers})),
                json_values,
            ),
            "attributes": st.one_of(
                st.lists(
                    st.fixed_dictionaries(
                        {"attributes": st.dictionaries(keys, json_values, max_size=3)}
                    ),
                ),
                json_values,
            ),
            "positions": st.one_of(
                st.lists(st.dictionaries(keys, json_values, max_size=4), max_size=4),
                st.lists(st.fixed_dictionaries({"timeOffset": numbers}), max_size=4),
                json_values,
            ),
            "texts": json_values,
            "text": json_values,
            "x": json_values,
            "y": json_values,
            "href": json_values,
            "tag": strings,
            "plugin": strings,
            "payload": json_values,
            "level": json_values,
        },
    ),
    st.dictionaries(keys, json_values, max_size=5),
)
timestamps = st.integers(min_value=RECEIVED_AT - 2 * DAY_MS, max_value=RECEIVED_AT + HOUR_MS)
events = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"type": st.integers(min_value=0, max_value=6), "timestamp": timestamps},
            optional={"data": event_data, "delay": json_values},
        ),
        st.fixed_dictionaries(
            {"type": st.integers(min_value=0, max_value=6), "timestamp": timestamps},
            optional={"data": json_values, EMAIL: json_values},
        ),
        json_values,
    ),
    max_size=6,
)


def assert_no_planted_email(*values: Any) -> None:
    assert EMAIL not in orjson.dumps(values).decode()


def check_outcome(batch_in: int, out: ReplayBatch) -> None:
    assert not out.chunks
    replay_rejects = [item for item in out.rejected if item.stage in REPLAY_STAGES]
    assert len(out.stored) + len(replay_rejects) == batch_in
    table = replay_chunks_table(out.stored)
    assert table.num_rows == len(out.stored)
    dead_letters = dead_letter_records(out.rejected, out.source, failed_at=RECEIVED_AT)
    assert_no_planted_email([stored.row for stored in out.stored], dead_letters)
    assert_no_planted_email([decode_blob(stored.blob) for stored in out.stored])


@settings(max_examples=300, deadline=None)
@given(st.lists(events, min_size=1, max_size=3), st.booleans())
def test_arbitrary_events_through_the_whole_step(
    chunks_events: list[Any], with_sent_at: bool
) -> None:
    records = []
    for index, chunk_events in enumerate(chunks_events):
        chunk = make_chunk(events=chunk_events, seq=index)
        if not with_sent_at:
            chunk.pop("sent_at")
        records.append(orjson.dumps(chunk))
    raw = RawBatch("replay0", 0, records)
    out = STATS(mask_replay(VALIDATOR(raw)))
    check_outcome(len(records), out)
    again = STATS(mask_replay(VALIDATOR(raw)))
    assert again.stored == out.stored  # the same chunk gives the same blob and row


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=6))
def test_arbitrary_values_as_events_past_validation(chunk_events: list[Any]) -> None:
    # mask and stats accept whatever a chunk holds, even what validation would refuse.
    def chunk() -> ReplayChunk:
        return ReplayChunk(
            "shop.example.com",
            SESSION_ID,
            CHUNK_ID,
            0,
            None,
            RECEIVED_AT,
            "",
            "other",
            copy.deepcopy(chunk_events),
            0,
        )

    first = STATS(mask_replay(ReplayBatch("replay0", 0, 0, 1, [chunk()])))
    check_outcome(1, first)
    second = STATS(mask_replay(ReplayBatch("replay0", 0, 0, 1, [chunk()])))
    assert second.stored == first.stored
