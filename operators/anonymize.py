"""Stage 4, always last: anonymize.

- `ip_hash` and `user_agent_hash` are the visitor hash (keyed by a random daily key
  destroyed after its retention) and the UA hash derived by the collector, or by the
  bot filter for a record that still carried `ip`/`ua` (operators/visitor.py). No raw
  IP or UA reaches this stage.
- `url_path` keeps the path only, masked; every kept string is PII-masked;
  sensitive props keys are redacted.
- An identify() call's traits keep only the keys the site allow-lists
  (operators/traits.py); every other trait value is redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import orjson

from operators.model import AnonymizedEvent, Event, EventBatch
from operators.pii import mask_json_value, mask_referrer, mask_text, mask_url_path
from operators.traits import is_identify_event, redact_traits
from operators.visitor import EVENT_VISITOR

# Optional contract fields kept in `event_data` (as JSON) after masking.
NUMERIC_DATA_FIELDS = ("x", "y", "scroll_y", "dh")


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def no_trait_keys(site_id: str) -> Collection[str]:
    """The default allow-list: no site keeps any trait in clear."""
    return ()


class Anonymizer:
    """Turns an enriched event into the stored, anonymized event.

    ``allowed_trait_keys`` gives, per site, the identify() trait keys kept in clear.
    """

    def __init__(
        self, allowed_trait_keys: Callable[[str], Collection[str]] = no_trait_keys
    ) -> None:
        self.allowed_trait_keys = allowed_trait_keys

    def anonymize(self, event: Event) -> AnonymizedEvent:
        ts = event["ts"]
        site = event["site_id"]
        visitor = event[EVENT_VISITOR]
        data: dict[str, Any] = {}
        for name in NUMERIC_DATA_FIELDS:
            value = event.get(name)
            if value is not None:
                data[name] = value
        if event.get("fixed") is not None:
            data["fixed"] = event["fixed"]
        target = event.get("target")
        if target is not None:
            data["target"] = mask_text(target)
        custom_name = event.get("name")
        if custom_name is not None:
            data["name"] = mask_text(custom_name)
        error = event.get("error")
        if error is not None:
            data["error"] = mask_json_value(error)
        props = event.get("props")
        if props is not None:
            if is_identify_event(event):
                data["props"] = redact_traits(props, self.allowed_trait_keys(site))
            else:
                data["props"] = mask_json_value(props)
        referrer = event.get("referrer")
        return AnonymizedEvent(
            event["event_id"],
            event["session_id"],
            site,
            ts,
            event["type"],
            orjson.dumps(data).decode() if data else "{}",
            mask_url_path(event["url"]),
            mask_referrer(referrer) if referrer else "",
            event["device_type"],
            _int(event.get("vw")),
            _int(event.get("vh")),
            visitor.ua_hash,
            visitor.ip_hash,
            event["country_code"],
            event["error_class"],
            event["received_at"],
            event.get("x"),
            event.get("y"),
            event.get("scroll_y"),
            event.get("fixed") is True,
            event.get("_offset", -1),
        )

    def apply(self, batch: EventBatch) -> EventBatch:
        anonymize = self.anonymize
        batch.events = [anonymize(event) for event in batch.events]
        return batch
