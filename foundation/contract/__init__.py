"""The event contract: one browser event as the tracker sends it, as JSON Schema.

The file is the single source of truth; the pipeline's validator is compiled from it
(operators.schema_rules) and the tracker's README documents the same fields.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

EVENT_SCHEMA_FILE = "event-v1.schema.json"


def load_event_schema() -> dict[str, Any]:
    """The event contract v1 as shipped in the package."""
    text = resources.files(__name__).joinpath(EVENT_SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
