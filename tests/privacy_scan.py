"""Scanning outputs for personal data that a test planted in the input."""

from __future__ import annotations

import re
from collections.abc import Iterable

IP_TOKEN = re.compile(r"[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*")


def variants(value: str) -> set[str]:
    """The value as written, and as digits only (a card or phone without separators)."""
    digits = re.sub(r"\D", "", value)
    forms = {value}
    if len(digits) >= 9 and "@" not in value and "." not in value.strip("."):
        forms.add(digits)
    return forms


def planted_leaks(text: str, planted: Iterable[str]) -> list[str]:
    """Every form of a planted value that appears in the text."""
    return sorted({form for value in planted for form in variants(value) if form in text})


def ip_leaks(text: str, client_ips: set[str]) -> list[str]:
    """Client addresses (IPv4 or IPv6) that appear in the text as tokens."""
    tokens = {token.strip(".:") for token in IP_TOKEN.findall(text)}
    return sorted(tokens & client_ips)
