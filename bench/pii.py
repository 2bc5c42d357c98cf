"""Micro-benchmark of the PII masking functions: nanoseconds per call.

Run from the repository root:  python bench/pii.py [--quick]
Each line is the best of many short timing runs of process CPU time, the
figure least disturbed by other work on the machine.
"""

from __future__ import annotations

import sys
import time
import timeit
from collections.abc import Callable

from operators.pii import (
    contains_pii,
    is_sensitive_key,
    luhn_valid,
    mask_json_value,
    mask_referrer,
    mask_text,
    mask_url_path,
)

CLEAN_TEXT = "Clicked the big signup button on the pricing page header"
CLEAN_WITH_DIGITS = "#btn-12 > li:nth-child(3)"
CLEAN_STACK = (
    "TypeError: Cannot read properties of undefined (reading 'id')\n"
    "    at renderCart (https://shop.example.com/static/js/main.4f3a2b1c.js:1:10423)\n"
    "    at commitHookEffectListMount (https://shop.example.com/static/js/vendor.91bd0e2a.js:2:88112)"
)
TEXT_WITH_PII = "please call me back at +1 (415) 555-0132 or write to jane.doe@example.com"
TEXT_WITH_CARD = "card 4111 1111 1111 1111 declined"
TYPICAL_PROPS = {"sku": "SHOE-4821", "price": 89.9, "currency": "USD", "qty": 1, "plan": "pro"}
PROPS_WITH_PII = {
    "form": {"step": 2, "fields": {"contact": {"value": "jane.doe@example.com"}}},
    "email": "jane.doe@example.com",
    "note": "call 415-555-0198",
}
PAGE_URL = "https://shop.example.com/orders/12345678?utm_source=newsletter#top"
REFERRER = "https://www.google.com/search?q=privacy+friendly+analytics"
UNCACHED_URLS = [
    f"https://shop.example.com/products/item-{n}/reviews?page=2" for n in range(200_000)
]


def _ns_per_call(function: Callable[[], object], repeat: int, number: int) -> float:
    timer = time.process_time
    return min(timeit.repeat(function, repeat=repeat, number=number, timer=timer)) / number * 1e9


def main() -> None:
    quick = "--quick" in sys.argv
    number = 1_000
    repeat = 10 if quick else 60
    urls = iter(UNCACHED_URLS * (1 + repeat * number // len(UNCACHED_URLS)))
    cases: list[tuple[str, Callable[[], object]]] = [
        ("mask_text clean text", lambda: mask_text(CLEAN_TEXT)),
        ("mask_text clean selector with digits", lambda: mask_text(CLEAN_WITH_DIGITS)),
        ("mask_text clean stack (3 lines)", lambda: mask_text(CLEAN_STACK)),
        ("mask_text phone + email", lambda: mask_text(TEXT_WITH_PII)),
        ("mask_text card", lambda: mask_text(TEXT_WITH_CARD)),
        ("contains_pii clean text", lambda: contains_pii(CLEAN_TEXT)),
        ("luhn_valid 16 digits", lambda: luhn_valid("4111111111111111")),
        ("is_sensitive_key (cached)", lambda: is_sensitive_key("Phone_Number")),
        ("mask_json_value typical props", lambda: mask_json_value(TYPICAL_PROPS)),
        ("mask_json_value props with PII", lambda: mask_json_value(PROPS_WITH_PII)),
        ("mask_url_path cached", lambda: mask_url_path(PAGE_URL)),
        ("mask_url_path uncached", lambda: mask_url_path(next(urls))),
        ("mask_referrer cached path", lambda: mask_referrer(REFERRER)),
    ]
    width = max(len(name) for name, _ in cases)
    for name, function in cases:
        print(f"{name:<{width}}  {_ns_per_call(function, repeat, number):8.0f} ns")


if __name__ == "__main__":
    main()
