"""The raw-batch source resumes where it stopped, whatever the client reported meanwhile."""

from __future__ import annotations

from typing import Any

from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.inputs import StatefulSourcePartition
from confluent_kafka import KafkaError as ClientError

from connectors.kafka.raw_source import _RawBatchPartition

# librdkafka's offset on an error that is about no record.
OFFSET_INVALID = -1001


def _message(offset: int, value: bytes | None = b"{}") -> KafkaSourceMessage[Any, Any]:
    return KafkaSourceMessage(key=None, value=value, topic="raw_events", offset=offset)


def _client_error(code: int, offset: int = OFFSET_INVALID) -> KafkaError[Any, Any]:
    return KafkaError(ClientError(code), _message(offset, None))


class _LikeBytewaxPartition(StatefulSourcePartition[Any, int | None]):
    """Hands out scripted batches and, as Bytewax's partition does, moves its own
    position to after the last item of each batch, errors included."""

    def __init__(self, start: int, batches: list[list[Any]]) -> None:
        self.position = start
        self.batches = batches

    def next_batch(self) -> list[Any]:
        if not self.batches:
            return []
        batch = self.batches.pop(0)
        if batch:
            last = batch[-1]
            offset = (last.msg if isinstance(last, KafkaError) else last).offset
            assert offset is not None
            self.position = offset + 1
        return batch

    def snapshot(self) -> int | None:
        return self.position


def _source(inner: _LikeBytewaxPartition) -> _RawBatchPartition:
    return _RawBatchPartition(inner, "raw_events.p000", batch_size=1)


def test_a_transport_error_after_records_keeps_the_resume_offset() -> None:
    inner = _LikeBytewaxPartition(
        40, [[_message(40), _message(41)], [_client_error(ClientError._TRANSPORT)]]
    )
    source = _source(inner)
    assert source.snapshot() == 40
    (batch,) = source.next_batch()
    assert batch.offsets == [40, 41]
    assert source.snapshot() == 42
    (batch,) = source.next_batch()
    assert batch.offsets == [] and not batch.errors
    # The wrapped partition would resume at librdkafka's "stored offset" (-1000).
    assert inner.snapshot() == OFFSET_INVALID + 1
    assert source.snapshot() == 42


def test_an_error_before_any_record_keeps_the_starting_offset() -> None:
    source = _source(_LikeBytewaxPartition(7, [[_client_error(ClientError._ALL_BROKERS_DOWN)]]))
    source.next_batch()
    assert source.snapshot() == 7


def test_a_record_level_error_counts_as_read() -> None:
    broken = _client_error(ClientError._MSG_TIMED_OUT, offset=12)
    source = _source(_LikeBytewaxPartition(10, [[_message(10), _message(11, None), broken]]))
    (batch,) = source.next_batch()
    assert batch.offsets == [10]
    assert [offset for offset, _reason in batch.errors or []] == [11, 12]
    assert source.snapshot() == 13


def test_an_error_naming_an_earlier_offset_does_not_move_the_resume_offset_back() -> None:
    late = _client_error(ClientError._MSG_TIMED_OUT, offset=3)
    source = _source(_LikeBytewaxPartition(0, [[_message(0), _message(8)], [late]]))
    source.next_batch()
    source.next_batch()
    assert source.snapshot() == 9
