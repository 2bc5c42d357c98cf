"""PII masking of digit-based personal data: payment cards, phone numbers, US SSNs, IPv4.

Part of `operators.pii_text` (which also masks emails and IPv6 addresses and
runs these rules); public names are re-exported by `operators.pii`.

What is masked (the decisions on ambiguous formats are here, and tested):

- IPv4: a dotted quad with octets 0-255 (leading zeros allowed), not part of a
  longer dotted run (`1.2.3.4.5`, `v1.2.3.4` are kept). One exception: a quad
  ending in `.0.0` right after a capitalized product name and `/`
  (`Chrome/131.0.0.0`, the version in every reduced user agent string) is kept.
- Payment card: 13-19 digits passing the Luhn check, bare or grouped by single
  spaces or dashes. Grouped cards start with a group of 4-6 digits, middle
  groups have 3-6 and the last 1-6 (4-4-4-4, 4-6-5, 4-4-4-1, 4-4-4-4-3...).
  Inside a longer run of groups every aligned window is tried, so a card next
  to other numbers is still found. These group rules keep UUIDs intact.
  A digit run failing Luhn may still be a phone number.
- Phone:
  - North American: `415-555-0198`, `415.555.0198`, `415 555 0198`,
    `(415) 555-0198`, with an optional `1` prefix (`1-800-555-0199`).
  - Anything starting with `+`: 8-15 digits in groups separated by single
    spaces, dots or dashes, one group may be in parentheses
    (`+44 (0)20 7946 0958`); the same after `00` with spaces (`0044 20 7946 0958`).
    Beyond 15 digits, the trailing groups are not part of the number.
  - National numbers with a trunk `0` and an area code: `020 7946 0958`,
    `07700 900123`, `01 23 45 67 89`: 10-11 digits in groups, with one kind of
    separator throughout (so the date `01.01.2026 12` is kept).
  - Bare digit runs: only exactly 10 digits shaped like a North American
    number (`[2-9]XX[2-9]XXXXXX`, e.g. `4155550198`) or 11 with a leading 1.
    Epoch seconds (they start with 1) and other ids are kept. Local 7-digit
    numbers (`555-0198`) are kept: they cannot identify anyone on their own
    and look like ranges and codes.
- US SSN: `NNN-NN-NNNN` or `NNN NN NNNN` (area numbers are not checked: the
  shape alone is distinctive, and ITINs are as personal). Nine bare digits are
  masked only right after an SSN keyword (`ssn`, `social security (number)`),
  since bare 9-digit ids, amounts and codes are common.

Digits are ASCII digits. A match must not touch a letter, digit or underscore
on either side, nor continue a decimal number or a dotted/dashed digit run
(`0.4111111111111111` is a probability, not a card).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

PHONE_MASK: Final = "<phone>"
CARD_MASK: Final = "<card>"
SSN_MASK: Final = "<ssn>"
IP_MASK: Final = "<ip>"

_Replacement = Callable[[re.Match[str]], str | None]

# A run of the characters digit-based PII is written with, from its first digit
# and at least seven characters long ("1.2.3.4" is the shortest thing a digit
# rule masks). A `(` or `+` just before the first digit belongs to the run too.
# Every digit rule matches inside one run.
_DIGIT_RUN: Final = re.compile(r"[0-9][0-9 ().+-]{6,}")
_RUN_PREFIX: Final = "(+"
_DROP_DIGITS: Final = str.maketrans("", "", "0123456789")
# A capitalized product name before a version: "Chrome/", "HeadlessChrome/", "Edg/".
_PRODUCT_TOKEN: Final = re.compile(r"[A-Z][A-Za-z]+\Z")
_MAX_PRODUCT_TOKEN: Final = 24

# The digit rules run on one run with a character of context on each side.
# Boundaries they share: no letter, digit or underscore next to the match, and
# no decimal point or dashed/dotted digit run continuing it.
_DIGITS_START: Final = r"(?<!\w)(?<![0-9][.-])"
_DIGITS_END: Final = r"(?!\w)(?![.-][0-9])"

# Patterns starting with `[0-9]` check what precedes after that digit (their
# lookbehinds span it): a leading character class lets the regex engine skip to
# the next digit in C instead of trying a match at every position.
# Octets are checked in code.
_DOTTED_QUAD: Final = re.compile(
    r"[0-9](?<![\w.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?!\w)(?!\.[0-9])", re.ASCII
)

# Digit groups separated by single spaces or dashes: where cards are.
_DIGIT_GROUPS: Final = re.compile(
    r"[0-9](?<!\w[0-9])(?<![0-9]\.[0-9])[0-9]*(?:[ -][0-9]+)*(?!\w)(?!\.[0-9])", re.ASCII
)
_GROUP_SEPARATOR: Final = re.compile(r"[ -]")
_MIN_CARD_DIGITS: Final = 13
_MAX_CARD_DIGITS: Final = 19

_NORTH_AMERICAN_PHONE: Final = re.compile(
    rf"""
    (?:
        {_DIGITS_START}(?:1[ .-]?)?(?:\([0-9]{{3}}\)[ .-]?|[0-9]{{3}}[ .-])[0-9]{{3}}[ .-][0-9]{{4}}
      | (?<![0-9])\([0-9]{{3}}\)[ .-]?[0-9]{{3}}[ .-][0-9]{{4}}
      | {_DIGITS_START}1?[2-9][0-9]{{2}}[2-9][0-9]{{6}}
    )
    {_DIGITS_END}
    """,
    re.ASCII | re.VERBOSE,
)
# `+` or `00` then digit groups; the digit count is checked in code. After `00`
# only spaces separate groups: `00100000-0000-...` is a UUID.
_INTERNATIONAL_PHONE: Final = re.compile(
    r"(?<![0-9+])\+[0-9]+(?:[ .-][0-9]+|[ .-]?\([0-9]{1,4}\)[ .-]?[0-9]+)*"
    r"|(?<!\w)00[1-9][0-9]*(?: [0-9]+| ?\([0-9]{1,4}\) ?[0-9]+)*",
    re.ASCII,
)
_MIN_INTERNATIONAL_DIGITS: Final = 8
_MAX_INTERNATIONAL_DIGITS: Final = 15  # E.164
_NATIONAL_PHONE: Final = re.compile(
    rf"""
    (?:{_DIGITS_START}0[1-9][0-9]{{0,3}}[ .-]|(?<![0-9])\(0[1-9][0-9]{{0,3}}\)[ .-]?)
    [0-9]{{2,8}}(?:[ .-][0-9]{{2,8}}){{0,3}}
    {_DIGITS_END}
    """,
    re.ASCII | re.VERBOSE,
)
_NATIONAL_DIGITS: Final = (10, 11)
_DIGITS: Final = re.compile(r"[0-9]+")

_SSN: Final = re.compile(
    rf"[0-9](?<!\w[0-9])(?<![0-9][.-][0-9])[0-9]{{2}}([ -])[0-9]{{2}}\1[0-9]{{4}}{_DIGITS_END}",
    re.ASCII,
)
_NINE_DIGITS: Final = re.compile(r"[0-9](?<![\w.-][0-9])[0-9]{8}(?!\w)(?![.-][0-9])", re.ASCII)
_SSN_KEYWORD_BEFORE: Final = re.compile(
    r"""
    (?<![a-z])(?:ssn|social[ _-]?security(?:[ _-]?(?:number|num|no))?)
    [^0-9a-z]{0,4}(?:(?:is|no|number|num|nr)[^0-9a-z]{1,4})?\Z
    """,
    re.ASCII | re.IGNORECASE | re.VERBOSE,
)
_SSN_KEYWORD_WINDOW: Final = 48

_LUHN_DOUBLED: Final = str.maketrans("0123456789", "0246813579")


def _luhn_sum_ok(digits: str) -> bool:
    # Summing the bytes of the digit characters is a C loop; each byte is 48 + digit.
    kept = digits[-1::-2].encode()
    doubled = digits[-2::-2].translate(_LUHN_DOUBLED).encode()
    return (sum(kept) + sum(doubled) - 48 * len(digits)) % 10 == 0


def luhn_valid(digits: str) -> bool:
    """True when `digits` (ASCII digits only) passes the Luhn checksum.

    Empty strings and strings with any other character are not valid.
    """
    return digits.isascii() and digits.isdigit() and _luhn_sum_ok(digits)


def _ip_octets_valid(match: re.Match[str]) -> str | None:
    octets = match.group().split(".")
    return IP_MASK if all(int(octet) <= 255 for octet in octets) else None


def _ip_unless_product_version(match: re.Match[str]) -> str | None:
    # Called on a run that follows "Name/": "Chrome/131.0.0.0" is the version in
    # every reduced user agent string, not an address.
    if match.start() == 1 and match.group().endswith(".0.0"):
        return None
    return _ip_octets_valid(match)


def _replace_matches(pattern: re.Pattern[str], text: str, replacement: _Replacement) -> str:
    """`pattern.sub` whose callback may return None for "keep this match as it is".

    Returns `text` itself when nothing was replaced, so callers can test identity.
    """
    pieces: list[str] | None = None
    kept_until = 0
    for match in pattern.finditer(text):
        new = replacement(match)
        if new is None:
            continue
        if pieces is None:
            pieces = []
        pieces.append(text[kept_until : match.start()])
        pieces.append(new)
        kept_until = match.end()
    if pieces is None:
        return text
    pieces.append(text[kept_until:])
    return "".join(pieces)


def _replace_all(pattern: re.Pattern[str], text: str, mask: str) -> str:
    masked, count = pattern.subn(mask, text)
    return masked if count else text


def _card_window_end(groups: list[str], first: int) -> int:
    """Index of the last group of the longest card starting at group `first`, or -1."""
    size = len(groups[first])
    if size >= _MIN_CARD_DIGITS:
        single = size <= _MAX_CARD_DIGITS and _luhn_sum_ok(groups[first])
        return first if single else -1
    if not 4 <= size <= 6:
        return -1
    found = -1
    digits = groups[first]
    for last in range(first + 1, len(groups)):
        size = len(groups[last])
        if size > 6:
            break
        digits += groups[last]
        if len(digits) > _MAX_CARD_DIGITS:
            break
        if len(digits) >= _MIN_CARD_DIGITS and _luhn_sum_ok(digits):
            found = last
        if size < 3:  # only the last group of a card may be that short
            break
    return found


def _card_replacement(match: re.Match[str]) -> str | None:
    candidate = match.group()
    if len(candidate) < _MIN_CARD_DIGITS:
        return None
    groups = _GROUP_SEPARATOR.split(candidate)
    starts = [0] * len(groups)
    for index in range(1, len(groups)):
        starts[index] = starts[index - 1] + len(groups[index - 1]) + 1
    pieces: list[str] = []
    kept_until = 0
    index = 0
    while index < len(groups):
        last = _card_window_end(groups, index)
        if last < 0:
            index += 1
            continue
        pieces.append(candidate[kept_until : starts[index]])
        pieces.append(CARD_MASK)
        kept_until = starts[last] + len(groups[last])
        index = last + 1
    if not pieces:
        return None
    pieces.append(candidate[kept_until:])
    return "".join(pieces)


def _international_phone_replacement(match: re.Match[str]) -> str | None:
    candidate = match.group()
    minimum = _MIN_INTERNATIONAL_DIGITS
    if candidate.startswith("00"):
        if candidate.isdigit():
            return None  # "00" alone is too weak a sign: 0012345678 is an ordinary id
        minimum += 2
    digits = 0
    cut = 0
    for run in _DIGITS.finditer(candidate):
        if digits + len(run.group()) > _MAX_INTERNATIONAL_DIGITS:
            break
        digits += len(run.group())
        cut = run.end()
    if digits < minimum:
        return None
    if cut < len(candidate) and candidate[cut] == ")":
        cut += 1
    return PHONE_MASK + candidate[cut:]


def _national_phone_replacement(match: re.Match[str]) -> str | None:
    candidate = match.group()
    # The longest leading groups holding 10-11 digits are the number; what
    # follows may be the next number (a later round looks at it again).
    digits = 0
    cut = 0
    for run in _DIGITS.finditer(candidate):
        digits += len(run.group())
        if digits > _NATIONAL_DIGITS[-1]:
            break
        if digits in _NATIONAL_DIGITS:
            cut = run.end()
    if not cut:
        return None
    number = candidate[:cut]
    separators = set(_DIGITS.sub("", number.replace("(", "").replace(")", "")))
    return PHONE_MASK + candidate[cut:] if len(separators) <= 1 else None


def _mask_ssn_after_keyword(run: str, text: str, run_start: int) -> str:
    """Masks 9 bare digits in `run` (found at `run_start` in `text`) after an SSN keyword."""
    pieces: list[str] | None = None
    kept_until = 0
    for nine in _NINE_DIGITS.finditer(run):
        at = run_start + nine.start()
        if not _SSN_KEYWORD_BEFORE.search(text, max(0, at - _SSN_KEYWORD_WINDOW), at):
            continue
        if pieces is None:
            pieces = []
        pieces.append(run[kept_until : nine.start()])
        pieces.append(SSN_MASK)
        kept_until = nine.end()
    if pieces is None:
        return run
    pieces.append(run[kept_until:])
    return "".join(pieces)


def _apply_rules(run: str, digits: int, after_product: bool) -> str:
    """The digit rules, most specific first, on one run (with context) of `digits` digits.

    Rules that need more digits than the run has are skipped: most runs are short.
    `after_product`: the run follows a product token such as `Chrome/`.
    """
    masked = run
    if "." in masked:
        addresses = _ip_unless_product_version if after_product else _ip_octets_valid
        masked = _replace_matches(_DOTTED_QUAD, masked, addresses)
    if digits >= _MIN_CARD_DIGITS:
        masked = _replace_matches(_DIGIT_GROUPS, masked, _card_replacement)
    if digits >= _MIN_INTERNATIONAL_DIGITS and ("+" in masked or "00" in masked):
        masked = _replace_matches(_INTERNATIONAL_PHONE, masked, _international_phone_replacement)
    if digits >= 10:
        masked = _replace_all(_NORTH_AMERICAN_PHONE, masked, PHONE_MASK)
        if "0" in masked:
            masked = _replace_matches(_NATIONAL_PHONE, masked, _national_phone_replacement)
    if digits >= 9:
        masked = _replace_all(_SSN, masked, SSN_MASK)
    return masked


def _mask_run_at(text: str, start: int, end: int) -> str | None:
    """The masked form of the digit run text[start:end], or None when nothing changed."""
    run = text[start:end]
    digits = len(run) - len(run.translate(_DROP_DIGITS))
    if digits < 4:
        return None
    # One character of context on each side, for the rules' boundary checks. No
    # rule can mask it: after the run comes a character no rule matches, and
    # before it at most a space, `(` or `+` that no rule starts with there.
    before = text[start - 1] if start else ""
    after = text[end : end + 1]
    masked = _mask_ssn_after_keyword(run, text, start) if digits >= 9 else run
    after_product = before == "/" and bool(
        _PRODUCT_TOKEN.search(text, max(0, start - 1 - _MAX_PRODUCT_TOKEN), start - 1)
    )
    masked = _apply_rules(before + masked + after, digits, after_product)
    masked = masked[len(before) : len(masked) - len(after)]
    return None if masked == run else masked


def mask_digit_runs(text: str) -> str:
    """`text` with the digit-based PII masked; `text` itself when nothing was."""
    pieces: list[str] | None = None
    kept_until = 0
    for run in _DIGIT_RUN.finditer(text):
        start, end = run.span()
        first = max(kept_until, start - len(_RUN_PREFIX))
        while start > first and text[start - 1] in _RUN_PREFIX:
            start -= 1
        masked = _mask_run_at(text, start, end)
        if masked is None:
            continue
        if pieces is None:
            pieces = []
        pieces.append(text[kept_until:start])
        pieces.append(masked)
        kept_until = end
    if pieces is None:
        return text
    pieces.append(text[kept_until:])
    return "".join(pieces)
