"""Stage 2: drop traffic from bots.

Bots are filtered, not invalid: they are counted by reason (empty UA, a known
bot per `user_agents`, a headless browser, a configured pattern) and dropped,
never written to the dead-letter output. The verdict comes with the record (the
collector derived it from the user agent, operators/visitor.py); a record that
still carries `ip`/`ua` gets its derived fields here first, by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

from operators.model import EventBatch
from operators.visitor import EVENT_VISITOR, VisitorResolver


@dataclass(frozen=True)
class BotFilterConfig:
    """Settings of the bot filter: case-insensitive regular expressions."""

    patterns: tuple[str, ...] = ()


class BotFilter:
    """Removes bot events from a batch and counts them by reason."""

    def __init__(self, resolver: VisitorResolver) -> None:
        self.resolver = resolver

    def apply(self, batch: EventBatch) -> EventBatch:
        self.resolver.resolve(batch.events)
        kept = []
        filtered = batch.filtered
        for event in batch.events:
            reason = event[EVENT_VISITOR].bot
            if reason is None:
                kept.append(event)
            else:
                filtered[reason] += 1
        batch.events = kept
        return batch
