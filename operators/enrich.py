"""Stage 3: enrich events with device, country and error class.

The device type and the country were derived from the user agent and the IP by the
collector (or by the bot filter for a record that still carried them:
operators/visitor.py); this stage puts them in place and classifies errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from operators.error_class import classify_error
from operators.geo import CountryLookup
from operators.model import EventBatch
from operators.visitor import EVENT_VISITOR


@dataclass(frozen=True)
class EnrichConfig:
    """Settings of the enrichment; an empty geoip_db turns the country lookup off."""

    geoip_db: str = ""

    def country_lookup(self) -> CountryLookup | None:
        return CountryLookup(self.geoip_db) if self.geoip_db else None


class Enricher:
    """Adds `device_type`, `country_code` and `error_class` to each event."""

    def apply(self, batch: EventBatch) -> EventBatch:
        for event in batch.events:
            visitor = event[EVENT_VISITOR]
            event["device_type"] = visitor.device
            event["country_code"] = visitor.country
            if event["type"] == "error":
                message = event["error"].get("message")
                event["error_class"] = classify_error(message if type(message) is str else "")
            else:
                event["error_class"] = ""
        return batch
