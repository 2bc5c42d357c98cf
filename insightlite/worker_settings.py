"""Settings handed to the worker processes of a local multi-process run.

A worker is a fresh process: it gets the parent's settings as JSON, secrets
included, rather than reading the environment again (the parent may have been
given flags).
"""

from __future__ import annotations

from pathlib import PurePath

import orjson
from pydantic import SecretStr

from foundation.settings import Settings


def settings_json_with_secrets(settings: Settings) -> str:
    """The settings as JSON for worker processes, every secret in clear.

    `model_dump_json()` writes each `SecretStr` as `**********`, which a worker
    would then use as the secret (a Kafka SASL password, a hash key): here every
    secret field, whatever its name, keeps its value.
    """
    return orjson.dumps(settings.model_dump(mode="python"), default=_json_value).decode()


def _json_value(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"cannot hand a {type(value).__name__} setting to worker processes")


def worker_settings(settings_json: str) -> Settings:
    """The settings a worker process runs with, from `settings_json_with_secrets`."""
    return Settings.model_validate(orjson.loads(settings_json))
