"""Recordings for generated traffic: deterministic, valid by the chunk contract, tied to
the traffic's own sessions, carrying the planted contact details the server masks."""

from __future__ import annotations

import orjson

from devtools.generator import generate_records
from devtools.generator.replay import (
    PLANTED_EMAIL,
    PLANTED_PHONE,
    generate_replay_records,
)
from operators.model import RawBatch
from operators.replay_validate import ReplayValidator

NOW_MS = 1_764_072_000_000
DAY_MS = 86_400_000


def _traffic() -> list[bytes]:
    return list(generate_records(4_000, seed=9, now_ms=NOW_MS))


def test_the_same_traffic_and_seed_give_the_same_chunks() -> None:
    traffic = _traffic()
    assert generate_replay_records(traffic, seed=3) == generate_replay_records(traffic, seed=3)
    assert generate_replay_records(traffic, seed=3) != generate_replay_records(traffic, seed=4)


def test_well_formed_chunks_pass_the_contract_and_belong_to_the_traffics_sessions() -> None:
    traffic = _traffic()
    chunks = generate_replay_records(traffic, seed=3, share=0.5, malformed_share=0.0)
    assert len(chunks) > 50
    validated = ReplayValidator(max_future_ms=DAY_MS, max_age_ms=3 * DAY_MS)(
        RawBatch("replay_events-0", 0, chunks)
    )
    assert validated.rejected == []
    sessions = set()
    for record in traffic:
        try:
            sessions.add(orjson.loads(record).get("session_id"))
        except (orjson.JSONDecodeError, AttributeError):
            continue
    decoded = [orjson.loads(chunk) for chunk in chunks]
    assert {chunk["session_id"] for chunk in decoded} <= sessions
    # Every page load starts with a Meta event and a full snapshot holding the
    # contact details; a share of them has a typed email.
    first_chunks = [chunk for chunk in decoded if chunk["seq"] == 0]
    assert all([e["type"] for e in c["events"][:2]] == [4, 2] for c in first_chunks)
    text = b"".join(chunks)
    assert PLANTED_EMAIL.encode() in text and PLANTED_PHONE.encode() in text
    assert b'"source":5' in text


def test_a_share_of_chunks_is_malformed_for_the_dead_letters() -> None:
    chunks = generate_replay_records(_traffic(), seed=3, share=0.5, malformed_share=0.2)
    validated = ReplayValidator(max_future_ms=DAY_MS, max_age_ms=3 * DAY_MS)(
        RawBatch("replay_events-0", 0, chunks)
    )
    assert 0 < len(validated.rejected) < len(chunks) // 2
    assert len(validated.rejected) + len(validated.chunks) == len(chunks)
