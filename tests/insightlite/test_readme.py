"""The README documents every setting."""

from __future__ import annotations

import re
from pathlib import Path

from foundation.settings import ENV_PREFIX, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text()
    documented = set(re.findall(r"`(INSIGHTLITE_[A-Z0-9_]+)`", text))
    # A row may name siblings with a leading underscore: `INSIGHTLITE_X_RATE`, `_X_BURST`.
    for row in re.findall(r"^\|.*$", text, flags=re.M):
        first = re.search(r"`(INSIGHTLITE_[A-Z0-9]+_[A-Z0-9]+)_?[A-Z0-9_]*`", row)
        if first:
            stem = first.group(1).rsplit("_", 1)[0]
            documented |= {f"{stem}{suffix}" for suffix in re.findall(r"`(_[A-Z0-9_]+)`", row)}
    missing = [
        ENV_PREFIX + name.upper()
        for name in Settings.model_fields
        if ENV_PREFIX + name.upper() not in documented
    ]
    assert not missing, f"settings missing from the README: {missing}"
