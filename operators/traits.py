"""identify() traits: kept only for the keys a site allow-lists.

The tracker sends ``identify(traits)`` as a custom event named ``identify`` whose
``props`` are the traits (``sdk/src/core.ts``; strict privacy mode sends none). Traits
describe a person (``{name: 'Jane', plan: 'pro'}``), so by default every value is
replaced by the redaction marker; a site lists the trait keys it needs kept
(``INSIGHTLITE_TRAITS_ALLOWED_KEYS``), and their values are still PII-masked like
any stored string (an email or a phone number inside one is masked). Key names are
kept: they are the site's schema, not the visitor's data.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from operators.pii import REDACTED, mask_json_value

IDENTIFY_EVENT_NAME: Final = "identify"


def is_identify_event(event: Mapping[str, Any]) -> bool:
    """Whether a (validated) event is an ``identify()`` call."""
    return event.get("type") == "custom" and event.get("name") == IDENTIFY_EVENT_NAME


def redact_traits(traits: Any, allowed_keys: Collection[str]) -> Any:
    """The traits with every value whose key is not in ``allowed_keys`` replaced by
    ``REDACTED``, and the allowed ones PII-masked at any depth. Traits that are no
    object are redacted whole. Pure: ``traits`` is not changed."""
    if not isinstance(traits, Mapping):
        return REDACTED
    return {
        key: mask_json_value(value) if key in allowed_keys else REDACTED
        for key, value in traits.items()
    }
