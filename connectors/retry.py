"""Retry an infrastructure write until it succeeds, with capped exponential backoff.

A sink that cannot reach ClickHouse or S3 must neither drop the batch nor
crash the worker: it waits (which backs the whole flow up) and tries again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from foundation.metrics import WRITER_HEALTH

T = TypeVar("T")
log = logging.getLogger("insightlite.retry")


def retry_forever(
    action: Callable[[], T],
    *,
    retryable: tuple[type[BaseException], ...],
    what: str,
    on_retry: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    first_delay: float = 0.2,
    max_delay: float = 30.0,
    rng: random.Random | None = None,
) -> T:
    """Run `action` until it returns; errors of the `retryable` kinds are retried.

    While it retries, the process reports `what` as failing (see WriterHealth), so
    its readiness check says it cannot write.
    """
    rng = rng or random.Random()
    delay = first_delay
    attempt = 0
    while True:
        try:
            result = action()
        except retryable as exc:
            WRITER_HEALTH.failing(what, exc)
            attempt += 1
            if on_retry is not None:
                on_retry()
            log.warning(
                "%s failed (attempt %d), retrying in %.1fs: %s",
                what,
                attempt,
                delay,
                exc,
            )
            sleep(delay * (0.5 + rng.random()))
            delay = min(max_delay, delay * 2)
        else:
            WRITER_HEALTH.recovered(what)
            return result
