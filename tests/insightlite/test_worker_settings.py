"""Worker processes of a multi-process run get every setting, secrets included."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime
from pathlib import Path

import orjson
from pydantic import SecretStr

from flows.cluster import run_local_cluster
from foundation.settings import Settings
from insightlite.runner import InputSpec, worker_kwargs
from insightlite.worker_settings import settings_json_with_secrets, worker_settings
from tests.insightlite.worker_probe import settings_probe


def _mentions_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return any(_mentions_secret(arg) for arg in typing.get_args(annotation))
    return False


SECRET_FIELDS = sorted(
    name for name, field in Settings.model_fields.items() if _mentions_secret(field.annotation)
)


def _settings_with_secrets(tmp_path: Path) -> Settings:
    # Long enough for every secret's own checks (an HS* JWT secret needs 32 characters).
    values = {name: SecretStr(f"{name}-secret-value-1234-{'x' * 24}") for name in SECRET_FIELDS}
    return Settings(
        data_dir=tmp_path,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="pipeline",
        **values,
    )


def test_every_secret_setting_survives_the_hand_over(tmp_path: Path) -> None:
    assert {"kafka_sasl_password", "jwt_secret"} <= set(SECRET_FIELDS)
    settings = _settings_with_secrets(tmp_path)
    received = worker_settings(settings_json_with_secrets(settings))
    for name in SECRET_FIELDS:
        value = getattr(received, name)
        assert isinstance(value, SecretStr)
        assert value.get_secret_value() == f"{name}-secret-value-1234-{'x' * 24}", name
    # Everything else arrives as it was, too.
    assert received.model_dump() == settings.model_dump()


def test_two_worker_processes_see_the_kafka_password(tmp_path: Path) -> None:
    settings = _settings_with_secrets(tmp_path / "data")
    summaries = tmp_path / "summaries"
    summaries.mkdir()
    kwargs = worker_kwargs(
        settings, InputSpec("kafka", stop_at_end=True), datetime.now(UTC), str(summaries)
    )
    run_local_cluster(settings_probe, kwargs, 2, timeout=120)
    for process_id in (0, 1):
        seen = orjson.loads((summaries / f"probe-{process_id}.json").read_bytes())
        assert seen["kafka_sasl_password"] == f"kafka_sasl_password-secret-value-1234-{'x' * 24}"
        assert seen["jwt_secret"] == f"jwt_secret-secret-value-1234-{'x' * 24}"
