"""The session list's pagination cursors: opaque to clients, exact to this API.

A cursor names the last session of a page by its start (epoch milliseconds) and id;
the next page continues strictly after it (keyset pagination).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

import orjson

from api.query.filters import EARLIEST_DAY, LATEST_DAY

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidCursor(ValueError):
    """A pagination cursor is not one this API made (HTTP 400)."""


def encode_cursor(start_time: datetime, session_id: str) -> str:
    """The opaque cursor after a session: its start (epoch ms) and id."""
    millis = (start_time - _EPOCH) // timedelta(milliseconds=1)
    payload = orjson.dumps({"v": 1, "t": millis, "id": session_id})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """(start time, session id) of a cursor; InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
        millis = payload["t"]
        session_id = uuid.UUID(payload["id"])
        if payload.get("v") != 1 or isinstance(millis, bool) or not isinstance(millis, int):
            raise ValueError("bad cursor fields")
        # Integer arithmetic: a float division could land a microsecond below the
        # millisecond, which the DateTime64(3) parameter would truncate to the one before.
        start_time = _EPOCH + timedelta(milliseconds=millis)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, binascii.Error):
        raise InvalidCursor("cursor is not valid") from None
    if not EARLIEST_DAY <= start_time.date() <= LATEST_DAY:
        raise InvalidCursor("cursor is not valid")
    # Only the exact text this API hands out is accepted (base64 decoding alone ignores
    # stray characters and padding).
    if encode_cursor(start_time, str(session_id)) != cursor:
        raise InvalidCursor("cursor is not valid")
    return start_time, session_id
