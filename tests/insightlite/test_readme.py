"""The README's settings table documents the pipeline, Kafka and collector settings;
docs/replay.md's documents session replay's."""

from __future__ import annotations

from tests.foundation.settings_tables import (
    README,
    README_SECTIONS,
    REPLAY_DOCS,
    REPLAY_DOCS_SECTIONS,
    table_problems,
)


def test_every_setting_is_in_the_readme_table() -> None:
    # The query API's settings are in docs/api.md; a name here must be these sections'.
    assert table_problems(README, README_SECTIONS, "the README table") == []


def test_every_replay_setting_is_in_the_replay_docs_table() -> None:
    assert table_problems(REPLAY_DOCS, REPLAY_DOCS_SECTIONS, "the table in docs/replay.md") == []
