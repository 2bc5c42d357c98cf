"""A small, documented classification of browser error messages.

| class | matched by (first match wins) |
|---|---|
| `chunk_load` | ChunkLoadError, "Loading (CSS) chunk", "dynamically imported module" |
| `network` | NetworkError, "Failed to fetch", "Load failed", "Network request failed", net::ERR_ |
| `cross_origin_script` | exactly "Script error." (a cross-origin script hid the details) |
| `type_error` | TypeError |
| `reference_error` | ReferenceError |
| `syntax_error` | SyntaxError |
| `range_error` | RangeError |
| `security_error` | SecurityError |
| `unhandled_rejection` | "Unhandled", "Uncaught (in promise)", "Non-Error promise rejection" |
| `other` | any other message, or none |
"""

from __future__ import annotations

import re

ERROR_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "chunk_load",
        re.compile(r"ChunkLoadError|Loading (?:CSS )?chunk|dynamically imported module", re.I),
    ),
    (
        "network",
        re.compile(
            r"NetworkError|Failed to fetch|Load failed|Network request failed|net::ERR_", re.I
        ),
    ),
    ("cross_origin_script", re.compile(r"^\s*Script error\.?\s*$", re.I)),
    ("type_error", re.compile(r"\bTypeError\b")),
    ("reference_error", re.compile(r"\bReferenceError\b")),
    ("syntax_error", re.compile(r"\bSyntaxError\b")),
    ("range_error", re.compile(r"\bRangeError\b")),
    ("security_error", re.compile(r"\bSecurityError\b")),
    (
        "unhandled_rejection",
        re.compile(r"Unhandled|Uncaught \(in promise\)|Non-Error promise rejection", re.I),
    ),
)
OTHER = "other"


def classify_error(message: str) -> str:
    """The class of an error message (see the module table)."""
    for name, pattern in ERROR_CLASSES:
        if pattern.search(message):
            return name
    return OTHER
