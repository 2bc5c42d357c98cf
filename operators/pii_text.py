"""PII masking of free text: emails, phone numbers, payment cards, US SSNs and IPs.

Public names are re-exported by `operators.pii`; import them from there. The
digit-based rules (cards, phones, SSNs, IPv4) and their decisions on ambiguous
formats are in `operators.pii_digits`; this module adds:

- Email: `local@domain.tld`, also with `%40` for the `@` (percent-encoded).
  The local part is letters, digits and `. _ % + -` (at most 64 of them); the
  top-level domain is letters or punycode (`xn--...`). So `pkg@1.2.3` and
  `user@localhost` are kept.
- IPv6: full, compressed and IPv4-suffixed forms (`::ffff:1.2.3.4`), checked
  by `ipaddress`. The bare unspecified address `::` is kept (it is also
  ordinary punctuation), so are `std::vector` and times. Trailing `:segment`s
  that make a run invalid (`fe80::1: timeout`, a line and column after it) are
  not part of the address.

Masks never contain a digit, `@`, `:` or `%`, so a masked string passes the
prefilter untouched.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from operators.pii_digits import IP_MASK, mask_digit_runs

EMAIL_MASK: Final = "<email>"

# Speed: a pattern whose first element is a character class lets the regex
# engine skip in C to the next character of that class; a leading lookbehind or
# repeat would make it try a match at every position instead. So the scanning
# patterns below start with a class and check what precedes afterwards.

# One cheap search decides whether a string can hold PII at all: the smallest
# piece each rule needs (`@`, `%40`, `::` or `:hex:`, `+digit`, seven digits,
# `NN-NN`, `NN NN`, `NNN.NNN` or `N.N.N`). Prices and versions do not pass it.
_CANDIDATE: Final = re.compile(
    r"[0-9:@%+](?:(?<=[0-9])(?:[0-9]{6}|[0-9][ -][0-9]{2}|[0-9]{2}\.[0-9]{3}|\.[0-9]{1,3}\.[0-9])"
    r"|(?<=:)(?::|[0-9A-Fa-f]{1,4}:)|(?<=@)|(?<=%)40|(?<=\+)[0-9])"
)

# Emails are found from their `@`: a scan for the start of the local part
# would try every letter of the text.
_PERCENT_ENCODED_AT: Final = re.compile("%40")
_EMAIL_DOMAIN: Final = re.compile(r"[\w.-]+\.(?:xn--[\w-]+|[^\W\d_]{2,})")
_MAX_LOCAL_PART: Final = 64  # RFC 5321
_LOCAL_PART_REVERSED: Final = re.compile(r"[\w.%+-]+")

# From a colon: a run of hex digits, colons and dots with `::` or at least six
# colons, maybe an IPv6 address (`ipaddress` decides). Up to four hex digits
# before the colon belong to it too. Times and `file.js:12:34` fail the shape.
_IPV6_COLONS: Final = re.compile(r":(?=:|[0-9A-Fa-f:.]*::|(?:[0-9A-Fa-f.]*:){5})[0-9A-Fa-f:.]*")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_WORD_OR_DOT: Final = re.compile(r"[\w.]")
_MAX_IPV6_GROUPS: Final = 8


def _at_signs(text: str) -> list[tuple[int, int]]:
    """Spans of every `@` and `%40` in `text`, in order."""
    spans = []
    at = text.find("@")
    while at >= 0:
        spans.append((at, at + 1))
        at = text.find("@", at + 1)
    if "%40" in text:
        spans.extend(match.span() for match in _PERCENT_ENCODED_AT.finditer(text))
        spans.sort()
    return spans


def mask_emails(text: str) -> str:
    """`text` with emails masked; `text` itself when there was none."""
    pieces: list[str] | None = None
    kept_until = 0
    for at, after in _at_signs(text):
        if at < kept_until:
            continue
        domain = _EMAIL_DOMAIN.match(text, after)
        if domain is None:
            continue
        before = text[max(kept_until, at - _MAX_LOCAL_PART) : at]
        local = _LOCAL_PART_REVERSED.match(before[::-1])
        if local is None:
            continue
        if pieces is None:
            pieces = []
        pieces.append(text[kept_until : at - local.end()])
        pieces.append(EMAIL_MASK)
        kept_until = domain.end()
    if pieces is None:
        return text
    pieces.append(text[kept_until:])
    return "".join(pieces)


def _is_ipv6(candidate: str) -> bool:
    if not candidate.strip(":"):
        return False  # "::" alone is ordinary punctuation as often as an address
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _ipv6_replacement(text: str, start: int, end: int) -> str | None:
    """The replacement of the colon-hex run text[start:end], or None to keep it."""
    run = text[start:end]
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return None  # "::1x" goes on as a word
    lead = ""
    if start and _WORD_OR_DOT.match(text, start - 1):
        if not run.startswith(":") or run.startswith("::"):
            return None  # inside a word or a dotted name: "std::vector"
        lead, run = ":", run[1:]  # "ip:2001:db8::1"
    address = run.rstrip(".")
    # Cut trailing ":segment"s until an address remains: "fe80::1: timeout" ends
    # a sentence, "2a02:8108::42:88:14" may be an address with line and column.
    for _ in range(_MAX_IPV6_GROUPS):
        if _is_ipv6(address):
            return lead + IP_MASK + run[len(address) :]
        cut = address.rfind(":")
        if cut <= 0:
            return None
        address = address[:cut]
    return None


def _mask_ipv6(text: str) -> str:
    pieces: list[str] | None = None
    kept_until = 0
    for colons in _IPV6_COLONS.finditer(text):
        start, end = colons.span()
        first_hex = max(kept_until, start - 4)
        while start > first_hex and text[start - 1] in _HEX_DIGITS:
            start -= 1
        replacement = _ipv6_replacement(text, start, end)
        if replacement is None:
            continue
        if pieces is None:
            pieces = []
        pieces.append(text[kept_until:start])
        pieces.append(replacement)
        kept_until = end
    if pieces is None:
        return text
    pieces.append(text[kept_until:])
    return "".join(pieces)


def _mask_round(text: str) -> str:
    """One pass of every rule; `text` itself when nothing matched."""
    if _CANDIDATE.search(text) is None:
        return text
    masked = mask_emails(text)
    if ":" in masked:
        masked = _mask_ipv6(masked)
    return mask_digit_runs(masked)


def mask_text(text: str) -> str:
    """`text` with every email, phone number, payment card, SSN and IP address masked.

    Returns `text` itself (the same object) when there is nothing to mask.
    """
    masked = _mask_round(text)
    # A mask changes the neighbours of text an earlier rule has already looked at
    # (a digit next to a match becomes `>`), so one round is not always a fixed
    # point. Repeating until nothing changes makes idempotence a guarantee. It
    # ends: every replacement removes digits, `@`, `:` or `%` and adds none.
    # The common case costs one extra prefilter search on the masked result.
    while masked is not text:
        text, masked = masked, _mask_round(masked)
    return masked


def may_hold_pii(text: str) -> bool:
    """False only when no substring of ``text`` can be PII to ``mask_text``: the cheap
    prefilter every rule needs to pass."""
    return _CANDIDATE.search(text) is not None


def contains_pii(text: str) -> bool:
    """True when `mask_text` would change `text`."""
    return mask_text(text) is not text
