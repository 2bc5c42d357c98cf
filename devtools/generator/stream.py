"""The record stream: many sessions interleaved in arrival order, plus the
record-level anomalies (planted PII, malformed, late, future, out-of-order and
duplicate deliveries)."""

from __future__ import annotations

import heapq
import math
import os
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import orjson

from .config import GeneratorConfig
from .malformed import make_malformed
from .pii import plant_pii
from .sessions import SessionFactory
from .visit import Event, ProtectedEvent

DAY_MS: Final = 86_400_000
HOUR_MS: Final = 3_600_000
# Runs are kept within one day so that, started from `now_ms`, no ordinary event is
# anywhere near the pipeline's 3-day age limit; more concurrent sessions make room.
MAX_RUN_SPAN_MS: Final = DAY_MS
# Bounds the out-of-order/duplicate buffer; beyond it the oldest held record goes out.
MAX_HELD_RECORDS: Final = 10_000

# Averages per session measured over 40,000 simulated sessions of each kind: events
# made, and how long the session keeps its slot busy (first event to last arrival,
# plus the pause before the slot's next session). They predict a run's span.
_HUMAN_EVENTS_PER_SESSION: Final = 54.5
_HUMAN_SLOT_MS: Final = 69_200.0
_BOT_EVENTS_PER_SESSION: Final = 22.3
_BOT_SLOT_MS: Final = 41_400.0
_NEXT_SESSION_PAUSE_MS: Final = (0, 20_000)

LABEL_OK: Final = "ok"
LABEL_LATE: Final = "late"
LABEL_FUTURE: Final = "future"
LABEL_OUT_OF_ORDER: Final = "out_of_order"
LABEL_DUPLICATE: Final = "duplicate"
PII_LABEL_PREFIX: Final = "pii:"
MALFORMED_LABEL_PREFIX: Final = "malformed:"


def _slot_ms_per_record(config: GeneratorConfig) -> float:
    bots = config.bot_share
    events = (1 - bots) * _HUMAN_EVENTS_PER_SESSION + bots * _BOT_EVENTS_PER_SESSION
    records = events * (1 + config.duplicate_share)
    slot_ms = (1 - bots) * _HUMAN_SLOT_MS + bots * _BOT_SLOT_MS
    return slot_ms / records


def effective_concurrency(n: int, config: GeneratorConfig) -> int:
    """Concurrent sessions actually simulated: config.concurrent_sessions, raised when
    `n` records would otherwise take longer than MAX_RUN_SPAN_MS of event time."""
    needed = math.ceil(n * _slot_ms_per_record(config) / MAX_RUN_SPAN_MS)
    return max(config.concurrent_sessions, needed)


def estimate_span_ms(n: int, config: GeneratorConfig | None = None) -> int:
    """Predicted event-time span of a run of `n` records (received_at of the last
    record minus the run start)."""
    config = config or GeneratorConfig()
    return int(n * _slot_ms_per_record(config) / effective_concurrency(n, config))


def _run_start(n: int, config: GeneratorConfig, now_ms: int | None) -> int:
    if config.start_ms is not None:
        return config.start_ms
    if now_ms is None:
        raise ValueError("now_ms is required when config.start_ms is None")
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or now_ms < 0:
        raise ValueError(f"now_ms must be epoch milliseconds, got {now_ms!r}")
    return max(0, now_ms - estimate_span_ms(n, config))


def generate_labeled_records(
    n: int,
    *,
    seed: int = 0,
    config: GeneratorConfig | None = None,
    now_ms: int | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Like generate_records, with each record's label: "ok", "pii:<field kind>",
    "malformed:<kind>", "late", "future", "out_of_order" or "duplicate"."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    config = config or GeneratorConfig()
    start = _run_start(n, config, now_ms)
    if n == 0:
        return iter(())
    return _records(n, random.Random(seed), config, start)


def generate_records(
    n: int,
    *,
    seed: int = 0,
    config: GeneratorConfig | None = None,
    now_ms: int | None = None,
) -> Iterator[bytes]:
    """Exactly `n` raw records (event plus ip, ua, received_at), deterministic for the
    same n, seed, config and start.

    Well-formed records are single JSON objects serialized by orjson; malformed ones
    may be any bytes without a newline. The run starts at config.start_ms or, when that
    is None, at `now_ms` minus the predicted span, so the records end close to `now_ms`.
    """
    # Not a generator function itself, so bad arguments raise here, at the call.
    labeled = generate_labeled_records(n, seed=seed, config=config, now_ms=now_ms)
    return (data for _, data in labeled)


def _records(
    n: int, rng: random.Random, config: GeneratorConfig, start: int
) -> Iterator[tuple[str, bytes]]:
    factory = SessionFactory(rng, config)
    dumps = orjson.dumps
    random_number = rng.random
    heappush = heapq.heappush
    heappop = heapq.heappop

    pii_end = config.pii_share
    malformed_end = pii_end + config.malformed_share
    late_end = malformed_end + config.late_share
    future_end = late_end + config.future_share
    out_of_order_end = future_end + config.out_of_order_share
    anomaly_end = out_of_order_end + config.duplicate_share

    # Pending batches of all live sessions: (received_at, tiebreak, events, last?).
    pending: list[tuple[int, int, list[Event], bool]] = []
    # Records held back for later delivery: (release_at, tiebreak, label, bytes).
    held: list[tuple[int, int, str, bytes]] = []
    sequence = 0

    def schedule(session_start: int, earliest: int) -> None:
        nonlocal sequence
        while True:
            batches, end = factory.session(session_start)
            kept = [batch for batch in batches if batch[0] >= earliest]
            if kept:
                break
            # Every batch arrived before the run began: start the slot's next session.
            session_start = max(end, earliest) + rng.randint(*_NEXT_SESSION_PAUSE_MS)
        last_received = max(received for received, _ in kept)
        for received, events in kept:
            sequence += 1
            heappush(pending, (received, sequence, events, received == last_received))

    # Start each slot part-way through a session, so the run opens in a steady state
    # rather than with every session on its landing page at once.
    for _ in range(effective_concurrency(n, config)):
        schedule(start - rng.randint(0, int(_HUMAN_SLOT_MS)), start)

    emitted = 0
    while True:
        received, _, events, last = heappop(pending)
        if last:
            # Keep the number of live sessions constant.
            next_start = received + rng.randint(*_NEXT_SESSION_PAUSE_MS)
            schedule(next_start, received)
        for event in events:
            while held and (
                held[0][0] <= received
                or len(held) > MAX_HELD_RECORDS
                # The run is about to end: deliver what is held rather than lose it,
                # so short runs keep their out-of-order and duplicate shares.
                or len(held) >= n - emitted
            ):
                _, _, held_label, held_data = heappop(held)
                yield held_label, held_data
                emitted += 1
                if emitted == n:
                    return
            roll = random_number()
            if roll >= anomaly_end:
                yield LABEL_OK, dumps(event)
            elif roll < pii_end:
                yield PII_LABEL_PREFIX + plant_pii(event, rng), dumps(event)
            elif roll < future_end:
                if type(event) is ProtectedEvent:
                    yield LABEL_OK, dumps(event)
                elif roll < malformed_end:
                    kind, data = make_malformed(event, rng)
                    yield MALFORMED_LABEL_PREFIX + kind, data
                elif roll < late_end:
                    yield LABEL_LATE, dumps(_make_late(event, rng))
                else:
                    yield LABEL_FUTURE, dumps(_make_future(event, rng))
            elif roll < out_of_order_end:
                sequence += 1
                # Mostly a few seconds (a slow request overtaken by later ones); a
                # tenth by minutes (a proxy or partition that stalled).
                minutes = rng.random() < 0.1
                delay = rng.randint(60_000, 300_000) if minutes else rng.randint(200, 5_000)
                heappush(held, (received + delay, sequence, LABEL_OUT_OF_ORDER, dumps(event)))
                continue  # delivered later, from `held`
            else:
                data = dumps(event)
                sequence += 1
                # A retry after a lost acknowledgement: seconds later, sometimes minutes.
                slow_retry = rng.random() < 0.2
                delay = rng.randint(15_000, 180_000) if slow_retry else rng.randint(500, 15_000)
                heappush(held, (received + delay, sequence, LABEL_DUPLICATE, data))
                yield LABEL_OK, data
            emitted += 1
            if emitted == n:
                return


def _make_late(event: Event, rng: random.Random) -> Event:
    """Captured more than 3 days before it arrived (an offline queue flushed late).
    sent_at stays close to received_at, so clock correction keeps the event old."""
    event["ts"] = max(0, event["ts"] - rng.randint(3 * DAY_MS + 6 * HOUR_MS, 7 * DAY_MS))
    return event


def _make_future(event: Event, rng: random.Random) -> Event:
    """A client clock days or a year ahead, without sent_at, so nothing corrects it."""
    event.pop("sent_at", None)
    if rng.random() < 0.7:
        event["ts"] += rng.randint(3 * DAY_MS, 30 * DAY_MS)
    else:
        event["ts"] += 365 * DAY_MS + rng.randint(-DAY_MS, DAY_MS)
    return event


def write_jsonl(path: str | os.PathLike[str], records: Iterable[bytes]) -> int:
    """Write one record per line to `path` (parent folders are created); return the count.

    Raises ValueError on a record containing a newline, which would split it in two.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with target.open("wb") as out:
        for record in records:
            if b"\n" in record or b"\r" in record:
                raise ValueError(f"record {count} contains a newline")
            out.write(record)
            out.write(b"\n")
            count += 1
    return count
