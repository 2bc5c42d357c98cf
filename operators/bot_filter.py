"""Stage 2: drop traffic from bots.

Bots are filtered, not invalid: they are counted by reason (empty UA, a known
bot per `user_agents`, a headless browser, a configured pattern) and dropped,
never written to the dead-letter output.
"""

from __future__ import annotations

from dataclasses import dataclass

from operators.model import EventBatch
from operators.user_agent import UserAgentClassifier


@dataclass(frozen=True)
class BotFilterConfig:
    """Settings of the bot filter: case-insensitive regular expressions."""

    patterns: tuple[str, ...] = ()


class BotFilter:
    """Removes bot events from a batch and counts them by reason.

    The UA classification is kept on the event (`_ua`) so that enrichment
    reuses it instead of classifying twice.
    """

    def __init__(self, config: BotFilterConfig, classifier: UserAgentClassifier | None = None):
        self.classifier = classifier or UserAgentClassifier(config.patterns)

    def apply(self, batch: EventBatch) -> EventBatch:
        classify = self.classifier.classify
        kept = []
        filtered = batch.filtered
        for event in batch.events:
            ua = event.get("ua")
            info = classify(ua if type(ua) is str else "")
            if info.bot_reason is None:
                event["_ua"] = info
                kept.append(event)
            else:
                filtered[info.bot_reason] += 1
        batch.events = kept
        return batch
