from __future__ import annotations

import pytest

from operators.error_class import classify_error


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("TypeError: Cannot read properties of undefined (reading 'id')", "type_error"),
        ("Uncaught TypeError: x is not a function", "type_error"),
        ("ReferenceError: gtag is not defined", "reference_error"),
        ("SyntaxError: Unexpected token '<'", "syntax_error"),
        ("RangeError: Maximum call stack size exceeded", "range_error"),
        ("ChunkLoadError: Loading chunk 42 failed.", "chunk_load"),
        ("TypeError: Failed to fetch dynamically imported module: /a.js", "chunk_load"),
        ("NetworkError when attempting to fetch resource.", "network"),
        ("TypeError: Failed to fetch", "network"),
        ("Script error.", "cross_origin_script"),
        ("SecurityError: Blocked a frame", "security_error"),
        ("Uncaught (in promise) undefined", "unhandled_rejection"),
        ("something odd happened", "other"),
        ("", "other"),
    ],
)
def test_classes(message: str, expected: str) -> None:
    assert classify_error(message) == expected
