"""Which JSON keys name personal data: their values are redacted whatever they hold.

Public names are re-exported by `operators.pii`; import them from there.

A key is normalized (lowercased; `-`, `_`, spaces and dots dropped) and is
sensitive when it contains one of `SENSITIVE_KEY_PARTS`, e.g. `Phone_Number`,
`credit-card`, `billingAddress`, `x-api-key`, `access_token`.

Short parts that occur inside ordinary words are matched more narrowly:

- `tel`: as a word of the key (split at separators and camelCase): `tel`,
  `home_tel`, `telNo` are sensitive, `hotel`, `telemetry`, `intel` are not.
- `ssn`, `dob`: as a word, or anywhere in the normalized key unless a vowel
  follows, which means another word starts there: `user_ssn`, `ssnLast4`,
  `xssn2`, `userdob`, `dobYear` are sensitive, `className` (class-name),
  `business_name`, `access_number`, `adobe_id` are not.
- `auth`: the whole key, or a key starting with `auth` but not `author` or
  `authent` (so `auth_header`, `authKey` are sensitive and `author`,
  `is_authenticated` are not), or ending with `auth` (`basicAuth`). Keys with
  `authorization` and `oauth` are sensitive.
- `mobile`: the whole key or `mobileno`/`mobilenr`, or containing `mobilenum`
  (`is_mobile` is a device flag, not a phone number).
- `session` is deliberately absent: `session_id` is a random id, not PII.
"""

from __future__ import annotations

import re
from typing import Final

SENSITIVE_KEY_PARTS: Final[tuple[str, ...]] = (
    "mail",  # email, e-mail, mail_address
    "phone",  # phone, telephone, cellphone
    "mobilenum",
    "socialsecurity",
    "card",  # card, creditcard, card_number
    "ccnum",
    "cvv",
    "cvc",
    "iban",
    "password",
    "passwd",
    "passcode",
    "passphrase",
    "pwd",
    "firstname",
    "lastname",
    "fullname",
    "surname",
    "givenname",
    "familyname",
    "middlename",
    "address",  # address, ip_address, billing_address
    "street",
    "zip",
    "postcode",
    "postalcode",
    "token",
    "secret",
    "apikey",
    "privatekey",
    "authorization",
    "oauth",
    "birth",  # birthdate, date_of_birth, birthday
)
_SENSITIVE_WHOLE_KEYS: Final = frozenset({"mobile", "mobileno", "mobilenr", "tel", "auth"})
_SENSITIVE_WORDS: Final = frozenset({"tel", "ssn", "dob", "auth"})
_UNLESS_A_VOWEL_FOLLOWS: Final = ("ssn", "dob")
_VOWELS: Final = frozenset("aeiou")
_KEY_SEPARATORS: Final = str.maketrans("", "", "-_ .")
# Words of a key: camelCase humps, ALLCAPS runs and digit runs.
_KEY_WORDS: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

_CACHE_SIZE: Final = 4096
_MAX_CACHED_KEY_LENGTH: Final = 128
# Keys repeat a lot. Cleared when full: cheaper than LRU upkeep, and a hostile
# stream of unique keys can only cost the recomputation, never memory.
_cache: dict[str, bool] = {}


def _has_sensitive_word(key: str) -> bool:
    return any(word.lower() in _SENSITIVE_WORDS for word in _KEY_WORDS.findall(key))


def _classify(key: str) -> bool:
    normalized = key.lower().translate(_KEY_SEPARATORS)
    if normalized in _SENSITIVE_WHOLE_KEYS:
        return True
    if any(part in normalized for part in SENSITIVE_KEY_PARTS):
        return True
    for part in _UNLESS_A_VOWEL_FOLLOWS:
        at = normalized.find(part)
        while at >= 0:
            following = normalized[at + len(part) : at + len(part) + 1]
            if following not in _VOWELS:  # "" (the end) is no vowel either
                return True
            at = normalized.find(part, at + 1)
    if normalized.endswith("auth") or (
        normalized.startswith("auth") and not normalized.startswith(("author", "authent"))
    ):
        return True
    if "tel" in normalized or "ssn" in normalized or "dob" in normalized or "auth" in normalized:
        return _has_sensitive_word(key)
    return False


def is_sensitive_key(key: str) -> bool:
    """True when `key` looks like it names personal data or a credential."""
    cached = _cache.get(key)
    if cached is not None:
        return cached
    sensitive = _classify(key)
    if len(key) <= _MAX_CACHED_KEY_LENGTH:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[key] = sensitive
    return sensitive
