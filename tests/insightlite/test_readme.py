"""The README's settings table documents the pipeline, Kafka and collector settings."""

from __future__ import annotations

from collections import Counter

from tests.foundation.settings_tables import (
    README,
    README_SECTIONS,
    settings_table,
    variables_of,
)


def test_every_setting_is_in_the_readme_table() -> None:
    listed = settings_table(README)
    expected = variables_of(*README_SECTIONS)
    missing = sorted(expected - set(listed))
    assert not missing, f"settings missing from the README table: {missing}"
    # The query API's settings are in docs/api.md; a name here must be this section's.
    elsewhere = sorted(set(listed) - expected)
    assert not elsewhere, f"not settings of the README's sections: {elsewhere}"
    twice = sorted(name for name, count in Counter(listed).items() if count > 1)
    assert not twice, f"listed more than once in the README table: {twice}"
