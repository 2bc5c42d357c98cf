"""Seeded synthetic traffic for InsightLite: raw collector records with the bots,
broken records, planted personal data and clock trouble a real site sees.

    from devtools.generator import GeneratorConfig, generate_records, write_jsonl
    write_jsonl("events.jsonl", generate_records(100_000, seed=7, now_ms=now_ms))
"""

from .config import GeneratorConfig
from .devices import BOT_USER_AGENTS, HUMAN_USER_AGENTS
from .malformed import MALFORMED_KINDS, MAX_EVENT_BYTES
from .pii import (
    PII_FIELD_KINDS,
    PLANTED_CARDS,
    PLANTED_EMAILS,
    PLANTED_IPS,
    PLANTED_PHONES,
    PLANTED_SECRETS,
    PLANTED_SSNS,
    SENSITIVE_PROP_KEYS,
)
from .stream import (
    LABEL_DUPLICATE,
    LABEL_FUTURE,
    LABEL_LATE,
    LABEL_OK,
    LABEL_OUT_OF_ORDER,
    MALFORMED_LABEL_PREFIX,
    MAX_RUN_SPAN_MS,
    PII_LABEL_PREFIX,
    effective_concurrency,
    estimate_span_ms,
    generate_labeled_records,
    generate_records,
    write_jsonl,
)

__all__ = [
    "BOT_USER_AGENTS",
    "HUMAN_USER_AGENTS",
    "LABEL_DUPLICATE",
    "LABEL_FUTURE",
    "LABEL_LATE",
    "LABEL_OK",
    "LABEL_OUT_OF_ORDER",
    "MALFORMED_KINDS",
    "MALFORMED_LABEL_PREFIX",
    "MAX_EVENT_BYTES",
    "MAX_RUN_SPAN_MS",
    "PII_FIELD_KINDS",
    "PII_LABEL_PREFIX",
    "PLANTED_CARDS",
    "PLANTED_EMAILS",
    "PLANTED_IPS",
    "PLANTED_PHONES",
    "PLANTED_SECRETS",
    "PLANTED_SSNS",
    "SENSITIVE_PROP_KEYS",
    "GeneratorConfig",
    "effective_concurrency",
    "estimate_span_ms",
    "generate_labeled_records",
    "generate_records",
    "write_jsonl",
]
