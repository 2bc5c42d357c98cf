"""The contracts, as JSON Schema: one browser event, and one session-replay chunk,
as the tracker sends them.

Each file is the single source of truth; the pipeline's validators are compiled from them
(operators.schema_rules) and the tracker's README documents the same fields.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

EVENT_SCHEMA_FILE = "event-v1.schema.json"
REPLAY_CHUNK_SCHEMA_FILE = "replay-chunk-v1.schema.json"


def _load(file_name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(file_name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_event_schema() -> dict[str, Any]:
    """The event contract v1 as shipped in the package."""
    return _load(EVENT_SCHEMA_FILE)


def load_replay_chunk_schema() -> dict[str, Any]:
    """The session-replay chunk contract v1 as shipped in the package."""
    return _load(REPLAY_CHUNK_SCHEMA_FILE)
