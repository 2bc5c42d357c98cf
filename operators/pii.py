"""PII masking used by the anonymize stage and the dead-letter output.

Pure functions over plain data, no I/O and no Bytewax. The text rules (what
counts as an email, phone, card, SSN or IP, and the decisions on ambiguous
formats) are documented in `operators.pii_text`; the sensitive key list in
`operators.pii_keys`. This module adds parsed JSON and URLs:

- `mask_json_value`: the value of a sensitive key, whatever its type, becomes
  `REDACTED`; so does the value of a key that itself held PII (the key is
  masked too, and several masked keys may collapse into one). Strings are
  masked; integers (and integral floats) whose digits form a card or a phone
  number become that mask (9 bare digits are no SSN, as in text). Containers
  nested deeper than `MAX_JSON_DEPTH` become `REDACTED`. Types other than the
  JSON ones are returned as they are. Unchanged input comes back as the same
  object, and unchanged parts of changed input are shared, not copied.
- `mask_url_path`: the path of a URL, PII-masked, with every run of 6 or more
  digits (order numbers, ids) replaced by `NUM_MASK`; UUIDs are kept whole.
  Percent-encoded text is not decoded, except that `%40` counts as `@`.
- `mask_referrer`: `scheme://host/path`, without userinfo, port kept, host and
  path masked; a value that is not an absolute URL is masked as text.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Final

from operators.pii_digits import CARD_MASK, IP_MASK, PHONE_MASK, SSN_MASK, luhn_valid
from operators.pii_keys import SENSITIVE_KEY_PARTS, is_sensitive_key
from operators.pii_text import EMAIL_MASK, contains_pii, mask_emails, mask_text, may_hold_pii

__all__ = [
    "CARD_MASK",
    "EMAIL_MASK",
    "IP_MASK",
    "MAX_JSON_DEPTH",
    "NUM_MASK",
    "PHONE_MASK",
    "REDACTED",
    "SENSITIVE_KEY_PARTS",
    "SSN_MASK",
    "contains_pii",
    "is_sensitive_key",
    "json_text_needs_masking",
    "luhn_valid",
    "mask_json_value",
    "mask_referrer",
    "mask_text",
    "mask_url_path",
]

REDACTED: Final = "<redacted>"
NUM_MASK: Final = "<num>"
MAX_JSON_DEPTH: Final = 32

# Below 10 digits nothing can match (cards have 13+, bare phone numbers 10-11,
# and 9 bare digits are not an SSN); 20+ digits are one run, neither card nor phone.
_SMALLEST_MASKABLE_NUMBER: Final = 10**9
_LARGEST_MASKABLE_NUMBER: Final = 10**19 - 1

_URL_PARTS: Final = re.compile(r"((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)([^/?#]*)([^?#]*)")
_PATH_END: Final = re.compile(r"[?#]")
# UUIDs are matched (and kept) so that their digit runs are not numbers.
_UUID: Final = (
    r"(?<![0-9A-Za-z])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Za-z])"
)
# A run of 6+ digits that is not one group of a separated number ("3782-822463-10005").
_LONE_LONG_NUMBER: Final = re.compile(
    rf"{_UUID}|(?<![0-9])(?<![0-9][ .-])([0-9]{{6,}})(?![0-9])(?![ .-][0-9])"
)
_LONG_NUMBER: Final = re.compile(rf"{_UUID}|([0-9]{{6,}})")
_PATH_CACHE_SIZE: Final = 8192
_MAX_CACHED_PATH: Final = 512  # longer paths are rare; they would crowd the cache
_KEY_CACHE_SIZE: Final = 4096
_MAX_CACHED_KEY_LENGTH: Final = 128
# Per key: its masked form and whether its value is redacted. Cleared when full.
_key_treatments: dict[str, tuple[str | None, bool]] = {}


def _mask_number(number: int) -> object:
    magnitude = -number if number < 0 else number
    if magnitude < _SMALLEST_MASKABLE_NUMBER or magnitude > _LARGEST_MASKABLE_NUMBER:
        return number
    digits = str(magnitude)
    masked = mask_text(digits)
    return number if masked is digits else masked


def _mask_float(number: float) -> object:
    if number.is_integer() and abs(number) >= _SMALLEST_MASKABLE_NUMBER:
        masked = _mask_number(int(number))
        return number if isinstance(masked, int) else masked
    return number


def _key_treatment(key: str) -> tuple[str, bool]:
    treatment = _key_treatments.get(key)
    if treatment is None:
        masked = mask_text(key)
        # A key that held PII (an email used as a key) says its value is about
        # that person: redact it. Also keeps masking idempotent, since the masked
        # key ("<email>") is itself a sensitive key.
        # None stands for "unchanged": the cache must hand back the caller's own
        # key object, not an equal one cached from another dict, or an unchanged
        # dict would look changed and be copied.
        treatment = (None if masked is key else masked, masked is not key or is_sensitive_key(key))
        if len(key) <= _MAX_CACHED_KEY_LENGTH:
            if len(_key_treatments) >= _KEY_CACHE_SIZE:
                _key_treatments.clear()
            _key_treatments[key] = treatment
    masked_key, redact = treatment
    return (key if masked_key is None else masked_key), redact


def _mask_dict(source: dict[object, object], depth_left: int) -> dict[object, object]:
    masked: dict[object, object] | None = None
    for index, (key, value) in enumerate(source.items()):
        new_key: object
        new_value: object
        if isinstance(key, str):
            new_key, redact = _key_treatment(key)
        else:
            new_key, redact = key, False
        if redact:
            new_value = value if value == REDACTED else REDACTED
        else:
            new_value = _mask_json(value, depth_left)
        if masked is None:
            if new_key is key and new_value is value:
                continue
            # First change: copy what came before, then build the rest.
            masked = dict(itertools.islice(source.items(), index))
        masked[new_key] = new_value
    return source if masked is None else masked


def _mask_list(source: list[object], depth_left: int) -> list[object]:
    masked: list[object] | None = None
    for index, item in enumerate(source):
        new_item = _mask_json(item, depth_left)
        if masked is None:
            if new_item is item:
                continue
            masked = source[:index]
        masked.append(new_item)
    return source if masked is None else masked


def _mask_json(value: object, depth_left: int) -> object:
    # Exact type checks first: they are the common case and cheaper than isinstance.
    if type(value) is str:
        return mask_text(value)
    if type(value) is int:
        return _mask_number(value)
    if type(value) is float:
        return _mask_float(value)
    if value is None or type(value) is bool:
        return value
    if isinstance(value, dict):
        return _mask_dict(value, depth_left - 1) if depth_left > 0 else REDACTED
    if isinstance(value, list):
        return _mask_list(value, depth_left - 1) if depth_left > 0 else REDACTED
    # Subclasses of the scalar types (an IntEnum, a str enum) are masked alike.
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _mask_number(value)
    if isinstance(value, float):
        return _mask_float(value)
    return value


def mask_json_value(value: object, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """Parsed JSON with PII masked and sensitive keys' values redacted, at any depth.

    Returns `value` itself (the same object) when nothing needed masking.
    """
    return _mask_json(value, max_depth)


# Key words is_sensitive_key looks at besides SENSITIVE_KEY_PARTS (whole keys, words).
_OTHER_KEY_WORDS: Final = ("tel", "ssn", "dob", "auth", "mobile")
_KEY_SEPARATORS: Final = str.maketrans("", "", "-_ .")
_EXPONENT: Final = re.compile(r"[0-9][eE]")


def json_text_needs_masking(text: str) -> bool:
    """False only when ``mask_json_value`` leaves the JSON ``text`` decodes to
    unchanged: a prefilter on the text as it is, for objects that are mostly free of
    PII. It is conservative: True whenever it cannot tell cheaply.

    Unchanged needs: no escapes (they can hide any character) and ASCII only, so every
    key and string is a plain substring of the text; no PII candidate in it (which
    also covers numbers of 7+ digits); no exponent (``1e10`` is a long number); at
    most ``MAX_JSON_DEPTH`` containers in all; and no key word that could make a key
    sensitive, looked for in the whole text lowercased without separators (a key's
    normalised form is a substring of it).
    """
    if not text.isascii() or "\\" in text:
        return True
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        return True
    if may_hold_pii(text) or _EXPONENT.search(text) is not None:
        return True
    normalized = text.lower().translate(_KEY_SEPARATORS)
    return any(part in normalized for part in SENSITIVE_KEY_PARTS) or any(
        word in normalized for word in _OTHER_KEY_WORDS
    )


def _numbers_replacement(match: re.Match[str]) -> str:
    return NUM_MASK if match.group(1) else match.group()


def _mask_path_uncached(path: str) -> str:
    # Emails first: a long digit run in an email's local part must not split it.
    # Lone long numbers next, so an order number is always `<num>`, even one
    # shaped like a phone number. Then the other PII: a card or phone written
    # in groups is masked whole. Last, the long runs left inside such groups.
    masked = mask_emails(path)
    masked = _LONE_LONG_NUMBER.sub(_numbers_replacement, masked)
    masked = mask_text(masked)
    masked = _LONG_NUMBER.sub(_numbers_replacement, masked)
    return masked or "/"


_mask_path_cached = functools.lru_cache(maxsize=_PATH_CACHE_SIZE)(_mask_path_uncached)


def _mask_path(path: str) -> str:
    # Paths repeat a lot (a site has few pages); the cache is bounded LRU.
    if len(path) > _MAX_CACHED_PATH:
        return _mask_path_uncached(path)
    return _mask_path_cached(path)


def mask_url_path(url: str) -> str:
    """The masked path of `url`: no scheme, host, query or fragment; `/` when empty.

    A value that is not an absolute URL is taken as a path (query and fragment
    still dropped).
    """
    parts = _URL_PARTS.match(url)
    if parts is not None:
        return _mask_path(parts.group(3))
    end = _PATH_END.search(url)
    return _mask_path(url if end is None else url[: end.start()])


def mask_referrer(url: str) -> str:
    """`scheme://host/path` of an absolute URL, masked; any other value masked as text."""
    parts = _URL_PARTS.match(url)
    if parts is None:
        return mask_text(url)
    prefix, authority, path = parts.groups()
    host = authority.rpartition("@")[2]  # drops user:password@
    return prefix + mask_text(host) + _mask_path(path)
