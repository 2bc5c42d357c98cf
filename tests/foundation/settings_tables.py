"""The settings tables of the documentation, read as the variables they list.

Each setting is documented once, in the table of its section: the pipeline, Kafka and
collector settings in the README, the query API's (listening, limits, cache, tokens,
webhooks) in docs/api.md, session replay's in docs/replay.md, the privacy guarantees'
(encryption, ...) in docs/privacy.md. The tables sit under a
``## Settings`` heading, one row per setting or per group of siblings:
``| `INSIGHTLITE_X_RATE`, `_X_BURST` | ...``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from foundation.settings import ENV_PREFIX
from foundation.settings.api import QueryAPISettings
from foundation.settings.auth import JWTSettings
from foundation.settings.collector import CollectorSettings
from foundation.settings.crypto import CryptoSettings
from foundation.settings.kafka import KafkaSettings
from foundation.settings.pipeline import PipelineSettings
from foundation.settings.privacy import PrivacySettings
from foundation.settings.replay import ReplaySettings
from foundation.settings.retention import RetentionSettings
from foundation.settings.traits import TraitSettings
from foundation.settings.visitor_keys import VisitorKeySettings
from foundation.settings.webhooks import WebhookSettings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
API_DOCS = ROOT / "docs" / "api.md"
REPLAY_DOCS = ROOT / "docs" / "replay.md"
PRIVACY_DOCS = ROOT / "docs" / "privacy.md"

README_SECTIONS = (PipelineSettings, KafkaSettings, CollectorSettings)
API_DOCS_SECTIONS = (QueryAPISettings, JWTSettings, WebhookSettings, PrivacySettings)
REPLAY_DOCS_SECTIONS = (ReplaySettings,)
PRIVACY_DOCS_SECTIONS = (
    CryptoSettings,
    VisitorKeySettings,
    RetentionSettings,
    TraitSettings,
)


def variables_of(*sections: type[BaseModel]) -> set[str]:
    """The ``INSIGHTLITE_*`` variables of the fields of ``sections``."""
    return {ENV_PREFIX + name.upper() for section in sections for name in section.model_fields}


def settings_table(path: Path) -> list[str]:
    """The variables the first column of the table under ``## Settings`` names, in
    order; a name listed twice appears twice."""
    text = path.read_text()
    heading = re.search(r"^## Settings[ \t]*$", text, flags=re.M)
    assert heading, f"{path.name} has no '## Settings' heading"
    section = text[heading.end() :]
    following = re.search(r"^## ", section, flags=re.M)
    section = section[: following.start()] if following else section
    names: list[str] = []
    for row in re.findall(r"^\|([^|\n]*)\|", section, flags=re.M):
        full = re.findall(r"`(INSIGHTLITE_[A-Z0-9_]+)`", row)
        names += full
        # `INSIGHTLITE_COLLECTOR_SITE_RATE`, `_SITE_BURST`: a sibling keeps the first
        # word after the prefix of the row's first name.
        siblings = re.findall(r"`(_[A-Z0-9_]+)`", row)
        if full and siblings:
            stem = ENV_PREFIX + full[0].removeprefix(ENV_PREFIX).split("_", 1)[0]
            names += [stem + sibling for sibling in siblings]
    return names


def table_problems(path: Path, sections: tuple[type[BaseModel], ...], where: str) -> list[str]:
    """What is wrong with a document's settings table: names of its sections missing,
    names of other sections, names listed twice (empty: nothing)."""
    listed = settings_table(path)
    expected = variables_of(*sections)
    problems = []
    missing = sorted(expected - set(listed))
    if missing:
        problems.append(f"settings missing from {where}: {missing}")
    elsewhere = sorted(set(listed) - expected)
    if elsewhere:
        problems.append(f"not settings of {where}'s sections: {elsewhere}")
    twice = sorted(name for name, count in Counter(listed).items() if count > 1)
    if twice:
        problems.append(f"listed more than once in {where}: {twice}")
    return problems
