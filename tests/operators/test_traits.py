"""identify() traits: redacted unless allow-listed, allow-listed ones still PII-masked."""

from __future__ import annotations

from operators.pii import REDACTED
from operators.traits import is_identify_event, redact_traits


def test_traits_not_allow_listed_are_redacted() -> None:
    traits = {"name": "Jane", "plan": "pro"}
    assert redact_traits(traits, frozenset()) == {"name": REDACTED, "plan": REDACTED}
    assert traits == {"name": "Jane", "plan": "pro"}  # not changed in place


def test_allow_listed_traits_are_kept_and_masked() -> None:
    traits = {"plan": "pro", "company": "mail jane@example.com", "name": "Jane"}
    redacted = redact_traits(traits, {"plan", "company"})
    assert redacted["plan"] == "pro"
    assert redacted["name"] == REDACTED
    assert "jane@example.com" not in redacted["company"]
    assert redacted["company"].startswith("mail ")


def test_nested_allow_listed_values_are_masked_at_depth() -> None:
    traits = {"profile": {"email": "jane@example.com", "tier": "gold"}}
    redacted = redact_traits(traits, {"profile"})
    assert redacted["profile"]["tier"] == "gold"
    assert "jane@example.com" not in str(redacted)


def test_traits_that_are_no_object_are_redacted_whole() -> None:
    assert redact_traits("Jane Doe", {"name"}) == REDACTED
    assert redact_traits(["Jane"], {"name"}) == REDACTED


def test_identify_events_are_custom_events_named_identify() -> None:
    assert is_identify_event({"type": "custom", "name": "identify", "props": {}})
    assert not is_identify_event({"type": "custom", "name": "signup"})
    assert not is_identify_event({"type": "click", "name": "identify"})
