"""Stage 3: enrich events with device, country and error class.

Runs before anonymization on purpose: the country lookup needs the raw IP,
which the next stage drops (Snowplow runs pseudonymization last for the same
reason).
"""

from __future__ import annotations

from dataclasses import dataclass

from operators.error_class import classify_error
from operators.geo import UNKNOWN_COUNTRY, CountryLookup
from operators.model import EventBatch
from operators.user_agent import UserAgentClassifier


@dataclass(frozen=True)
class EnrichConfig:
    """Settings of the enrich stage; an empty geoip_db turns the country lookup off."""

    geoip_db: str = ""


class Enricher:
    """Adds `device_type`, `country_code` and `error_class` to each event."""

    def __init__(
        self,
        config: EnrichConfig,
        classifier: UserAgentClassifier | None = None,
        countries: CountryLookup | None = None,
    ) -> None:
        self.classifier = classifier or UserAgentClassifier(())
        if countries is None and config.geoip_db:
            countries = CountryLookup(config.geoip_db)
        self.countries = countries

    def apply(self, batch: EventBatch) -> EventBatch:
        classify = self.classifier.classify
        country = self.countries.country if self.countries is not None else None
        for event in batch.events:
            info = event.get("_ua")
            if info is None:
                ua = event.get("ua")
                info = classify(ua if type(ua) is str else "")
                event["_ua"] = info
            event["device_type"] = info.device_type
            ip = event.get("ip")
            event["country_code"] = (
                country(ip) if country is not None and type(ip) is str else UNKNOWN_COUNTRY
            )
            if event["type"] == "error":
                message = event["error"].get("message")
                event["error_class"] = classify_error(message if type(message) is str else "")
            else:
                event["error_class"] = ""
        return batch
