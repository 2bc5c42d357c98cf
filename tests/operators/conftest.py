from __future__ import annotations

from typing import Any

import pytest

RECEIVED_AT = 1_764_067_200_000  # 2025-11-25T10:40:00Z


def make_event(**overrides: Any) -> dict[str, Any]:
    """A valid raw record (a click) with the collector's fields."""
    event: dict[str, Any] = {
        "v": 1,
        "event_id": "3f2b8c1e-1111-4222-8333-444455556666",
        "site_id": "shop.example.com",
        "session_id": "9a7c4d2e-5555-4666-8777-888899990000",
        "type": "click",
        "ts": RECEIVED_AT - 2_000,
        "sent_at": RECEIVED_AT - 1_000,
        "url": "https://shop.example.com/cart?coupon=x#top",
        "x": 120,
        "y": 640,
        "vw": 1440,
        "vh": 900,
        "target": "#checkout",
        "ip": "81.2.69.160",
        "ua": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "received_at": RECEIVED_AT,
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not REMOVE}


REMOVE = object()


@pytest.fixture
def event() -> dict[str, Any]:
    return make_event()
