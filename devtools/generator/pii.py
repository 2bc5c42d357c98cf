"""Personal data planted into generated events, so masking can be tested.

Every planted value is one of the exact strings below; a privacy test can scan any
output for them. Values that go into URLs are drawn from the URL-safe subsets
(no spaces, no '+'), so they appear in the URL literally rather than percent-encoded.
"""

from __future__ import annotations

import random
from typing import Any, Final

PLANTED_EMAILS: Final[tuple[str, ...]] = (
    "jane.doe@example.com",
    "john.smith+news@gmail.com",
    "maria.garcia@outlook.es",
    "l.wei@company.co.jp",
    "pat.oconnor@mail.example.org",
    "Ana.Souza@Empresa.com.br",
)
PLANTED_PHONES: Final[tuple[str, ...]] = (
    "+1 (415) 555-0132",
    "415-555-0198",
    "(646)555-0123",
    "212.555.0147",
    "+14155550176",
    "+44 20 7946 0958",
    "07700 900123",
    "+49 30 901820",
    "+33 1 42 68 53 00",
    "+81-3-1234-5678",
)
# All pass the Luhn check; 13 to 19 digits, with and without separators.
PLANTED_CARDS: Final[tuple[str, ...]] = (
    "4111 1111 1111 1111",
    "4111111111111111",
    "5500-0000-0000-0004",
    "5555 5555 5555 4444",
    "378282246310005",
    "3782-822463-10005",
    "4222222222222",
    "6011 0009 9013 9424",
    "3530111333300000",
    "4512345678901234",
    "6304000000000000000",
)
# Area numbers avoid 000, 666 and 900-999, which are never issued.
PLANTED_SSNS: Final[tuple[str, ...]] = (
    "123-45-6789",
    "219-09-9999",
    "078-05-1120",
    "512-43-8802",
    "457-55-5462",
)
# Public addresses outside every range the generator draws client IPs from.
PLANTED_IPS: Final[tuple[str, ...]] = (
    "81.2.69.160",
    "145.53.12.200",
    "185.199.108.153",
    "2a02:8108:1f40:5e00::42",
)
# Values of sensitive-looking props keys that are not covered by the lists above.
PLANTED_SECRETS: Final[tuple[str, ...]] = (
    "hunter2!Secret",
    "tok_live_4eC39HqLyjWDarjtT1zdp7dc",
    "sk_test_51H8xYzQ2eZvKYlo2C",
)
SENSITIVE_PROP_KEYS: Final[tuple[str, ...]] = (
    "email",
    "Phone_Number",
    "credit-card",
    "password",
    "firstName",
    "last_name",
    "address",
    "zip",
    "postcode",
    "token",
    "secret",
    "ssn",
)

# The field kinds a planted value can land in; a label "pii:<kind>" names it.
PII_FIELD_KINDS: Final[tuple[str, ...]] = (
    "props_value",
    "props_nested",
    "props_list",
    "props_key",
    "target",
    "error_message",
    "error_stack",
    "error_source",
    "referrer",
    "url_query",
    "url_path",
    "name",
)


def _url_safe(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value for value in values if " " not in value and "+" not in value)


_BY_CATEGORY: Final[dict[str, tuple[str, ...]]] = {
    "email": PLANTED_EMAILS,
    "phone": PLANTED_PHONES,
    "card": PLANTED_CARDS,
    "ssn": PLANTED_SSNS,
    "ip": PLANTED_IPS,
}
_URL_SAFE_BY_CATEGORY: Final[dict[str, tuple[str, ...]]] = {
    category: _url_safe(values) for category, values in _BY_CATEGORY.items()
}
_CATEGORIES: Final = tuple(_BY_CATEGORY)
_QUERY_KEYS: Final = {"email": "email", "phone": "phone", "card": "cc", "ssn": "ssn", "ip": "ip"}
_PATH_TEMPLATES: Final = {
    "email": "/users/{}/settings",
    "phone": "/customers/{}/orders",
    "card": "/payments/{}/receipt",
    "ssn": "/verify/{}",
    "ip": "/admin/sessions/{}",
}
_SENSITIVE_KEY_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "email": PLANTED_EMAILS,
    "Phone_Number": PLANTED_PHONES,
    "credit-card": PLANTED_CARDS,
    "password": PLANTED_SECRETS[:1],
    "firstName": ("Jane", "Ana"),
    "last_name": ("Doe", "Souza"),
    "address": ("1600 Amphitheatre Parkway, Mountain View", "221B Baker Street"),
    "zip": ("94043", "10115"),
    "postcode": ("SW1A 1AA", "75008"),
    "token": PLANTED_SECRETS[1:2],
    "secret": PLANTED_SECRETS[2:],
    "ssn": PLANTED_SSNS,
}
_FREE_TEXT: Final = ("{}", "please call me back at {}", "my details: {}", "sent from {}")


def _add_to_url(url: str, pair: str) -> str:
    # Query parameters go before any fragment, as a browser would have them.
    base, hash_mark, fragment = url.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}{pair}"
    return f"{joined}{hash_mark}{fragment}"


def _with_props(event: dict[str, Any], extra: dict[str, Any]) -> None:
    # Props templates are shared between events, so build a new dict.
    props = dict(event.get("props") or {})
    props.update(extra)
    event["props"] = props


def plant_pii(event: dict[str, Any], rng: random.Random) -> str:
    """Put one planted value into a string field of `event`; return the field kind."""
    kind = _pick_kind(event["type"], rng)
    category = rng.choice(_CATEGORIES)
    value = rng.choice(_BY_CATEGORY[category])
    url_value = rng.choice(_URL_SAFE_BY_CATEGORY[category])
    origin = f"https://{event['site_id']}"
    if kind == "props_value":
        _with_props(
            event, {rng.choice(("note", "comment", "q")): rng.choice(_FREE_TEXT).format(value)}
        )
    elif kind == "props_nested":
        _with_props(event, {"form": {"step": 2, "fields": {"contact": {"value": value}}}})
    elif kind == "props_list":
        if rng.random() < 0.5:
            _with_props(event, {"recipients": ["support", value]})
        else:
            _with_props(event, {"history": [{"q": "shoes"}, {"q": value, "n": 2}]})
    elif kind == "props_key":
        key = rng.choice(SENSITIVE_PROP_KEYS)
        _with_props(event, {key: rng.choice(_SENSITIVE_KEY_VALUES[key])})
    elif kind == "target":
        if category == "email":
            event["target"] = f'a[href="mailto:{value}"]'
        elif category == "phone":
            event["target"] = f'a[href="tel:{value}"]'
        else:
            event["target"] = f'input#{category}[value="{value}"]'
    elif kind == "error_message":
        event["error"] = {**event["error"], "message": f"Error: Validation failed for {value}"}
    elif kind == "error_stack":
        event["error"] = {
            **event["error"],
            "stack": f"Error: Request failed\n    at submitForm ({origin}/static/js/main.js:1:3321)"
            f"\n    at {origin}/account?{_QUERY_KEYS[category]}={value}:88:14",
        }
    elif kind == "error_source":
        event["error"] = {
            **event["error"],
            "source": f"{origin}/account?{_QUERY_KEYS[category]}={url_value}",
        }
    elif kind == "referrer":
        event["referrer"] = rng.choice(
            (
                f"https://mail.google.com/mail/u/0/?to={url_value}",
                f"https://www.google.com/search?q={url_value}",
            )
        )
    elif kind == "url_query":
        event["url"] = _add_to_url(event["url"], f"{_QUERY_KEYS[category]}={url_value}")
    elif kind == "url_path":
        event["url"] = origin + _PATH_TEMPLATES[category].format(url_value)
    else:
        event["name"] = f"contact_form_submit:{value}"
    return kind


def _pick_kind(event_type: str, rng: random.Random) -> str:
    # Type-specific fields first, so every field kind turns up in modest samples.
    roll = rng.random()
    if event_type == "error" and roll < 0.75:
        return rng.choice(("error_message", "error_stack", "error_source"))
    if event_type == "custom" and roll < 0.4:
        return "name"
    if event_type == "click" and roll < 0.4:
        return "target"
    if event_type == "pageview" and roll < 0.4:
        return "referrer"
    return rng.choice(
        ("props_value", "props_nested", "props_list", "props_key", "url_query", "url_path")
    )
