"""The README's settings table documents the pipeline, Kafka and collector settings."""

from __future__ import annotations

from tests.foundation.settings_tables import (
    README,
    README_SECTIONS,
    table_problems,
)


def test_every_setting_is_in_the_readme_table() -> None:
    # The query API's settings are in docs/api.md; a name here must be these sections'.
    assert table_problems(README, README_SECTIONS, "the README table") == []
