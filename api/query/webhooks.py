"""Signed webhook notices, delivered with bounded retries.

Each attempt POSTs the exact same body with two headers:

- ``X-InsightLite-Timestamp``: Unix seconds when the attempt was signed;
- ``X-InsightLite-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with
  ``INSIGHTLITE_WEBHOOK_SECRET``, of ``timestamp + "." + body`` (the body's exact bytes).

A receiver recomputes the HMAC over the raw body it received, compares in constant
time, and refuses timestamps older than a few minutes, so a captured notice cannot be
replayed later (:func:`verify_signature` does all three). Any non-2xx answer, timeout or
connection error is retried after ``backoff * 2**(attempt - 1)`` seconds (capped), up to
``max_attempts`` attempts; every attempt is recorded. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from api.query.models import WebhookAttempt, WebhookDelivery

Clock = Callable[[], float]

SIGNATURE_HEADER: Final = "X-InsightLite-Signature"
TIMESTAMP_HEADER: Final = "X-InsightLite-Timestamp"
DELIVERY_HEADER: Final = "X-InsightLite-Delivery"
MAX_BACKOFF_SECONDS: Final = 300.0
DEFAULT_TOLERANCE_SECONDS: Final = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: bytes,
    *,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when the headers sign ``body`` with ``secret`` within the tolerance."""
    if not timestamp_header or not signature_header:
        return False
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature_header)


def backoff_delay(attempt: int, base_seconds: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    return float(min(MAX_BACKOFF_SECONDS, base_seconds * 2 ** (attempt - 1)))


class WebhookSender:
    """Delivers notices (see the module doc); ``sleep`` and ``clock`` are injectable."""

    def __init__(
        self,
        secret: bytes,
        *,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_attempt_outcome: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("at least one attempt is needed")
        self._secret = secret
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._sleep = sleep
        self._on_outcome = on_attempt_outcome
        self._transport = transport

    def deliver(
        self,
        url: str,
        body: bytes,
        *,
        delivery_id: str,
        on_progress: Callable[[WebhookDelivery], None] | None = None,
    ) -> WebhookDelivery:
        """POST ``body`` to ``url`` until a 2xx answer or the attempts run out."""
        delivery = WebhookDelivery(url=url, state="pending")
        client_options: dict[str, Any] = {"timeout": self._timeout, "follow_redirects": False}
        if self._transport is not None:
            client_options["transport"] = self._transport
        with httpx.Client(**client_options) as client:
            for attempt in range(1, self._max_attempts + 1):
                record = self._attempt(client, url, body, delivery_id, attempt)
                delivery.attempts.append(record)
                succeeded = record.status_code is not None and 200 <= record.status_code < 300
                if succeeded:
                    delivery.state = "delivered"
                elif attempt == self._max_attempts:
                    delivery.state = "failed"
                if on_progress is not None:
                    on_progress(delivery)
                if delivery.state != "pending":
                    break
                self._sleep(backoff_delay(attempt, self._backoff))
        return delivery

    def _attempt(
        self, client: httpx.Client, url: str, body: bytes, delivery_id: str, attempt: int
    ) -> WebhookAttempt:
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "InsightLite-Webhooks/1",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            DELIVERY_HEADER: delivery_id,
        }
        started = time.perf_counter()
        at = datetime.fromtimestamp(timestamp, tz=UTC)
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self._report("network_error")
            return WebhookAttempt(
                attempt=attempt,
                at=at,
                error=type(exc).__name__,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        self._report("delivered" if 200 <= response.status_code < 300 else "http_error")
        return WebhookAttempt(
            attempt=attempt,
            at=at,
            status_code=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _report(self, outcome: str) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)
