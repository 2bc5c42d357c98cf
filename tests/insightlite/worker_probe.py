"""A worker-process factory that records the settings a worker of a local
multi-process run was handed, for tests of that hand-over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from bytewax import operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource
from pydantic import SecretStr

from foundation.settings import Settings
from insightlite.worker_settings import worker_settings


def settings_probe(
    *,
    process_id: int,
    process_count: int,
    settings_json: str,
    spec: dict[str, Any],
    now_ms: int,
    summary_dir: str,
) -> Dataflow:
    """Takes what `worker_process_flow` takes; writes the secrets the worker sees."""
    settings = worker_settings(settings_json)
    secrets = {
        name: value.get_secret_value()
        for name in Settings.model_fields
        if isinstance(value := getattr(settings, name), SecretStr)
    }
    Path(summary_dir, f"probe-{process_id}.json").write_bytes(orjson.dumps(secrets))
    flow = Dataflow("settings-probe")
    op.output("out", op.input("in", flow, TestingSource([1])), TestingSink([]))
    return flow
