"""The one settings model: every section combined, frozen, loaded once at start."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from foundation.settings.api import QueryAPISettings
from foundation.settings.auth import JWTSettings
from foundation.settings.collector import CollectorSettings
from foundation.settings.common import ENV_PREFIX, ConfigError, setting_name
from foundation.settings.crypto import CryptoSettings
from foundation.settings.kafka import KafkaSettings
from foundation.settings.pipeline import PipelineSettings
from foundation.settings.privacy import PrivacySettings
from foundation.settings.replay import ReplaySettings
from foundation.settings.retention import RetentionSettings
from foundation.settings.traits import TraitSettings
from foundation.settings.visitor_keys import VisitorKeySettings
from foundation.settings.webhooks import WebhookSettings


class Settings(
    # Fields are listed from the last section to the first (pydantic walks the bases
    # in reverse), so the pipeline's come first, as in the README.
    VisitorKeySettings,
    TraitSettings,
    RetentionSettings,
    PrivacySettings,
    CryptoSettings,
    ReplaySettings,
    WebhookSettings,
    JWTSettings,
    QueryAPISettings,
    CollectorSettings,
    KafkaSettings,
    PipelineSettings,
    BaseSettings,
):
    """All settings of the pipeline, the collector, session replay, the query API,
    the CLI and the demo.

    Frozen: a process reads its settings once; a variant (a demo's broker, a test's
    override) is a new instance, built with ``load_settings(**overrides)`` or
    :meth:`with_overrides` (both validate), or ``model_copy(update=...)`` for values
    already known to be valid.

    Each section's validators have names of their own: pydantic keeps one validator per
    name across the bases, so two sections with a ``_check`` would silently lose one.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        case_sensitive=False,
        frozen=True,
    )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and everything validated again (unlike
        ``model_copy(update=...)``, which checks nothing); the environment is not read
        again. Raises ConfigError naming every offending setting."""
        try:
            return Settings.model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise _config_error(exc) from None


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, apply non-None overrides, validate.

    Raises ConfigError whose message names every offending setting.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise _config_error(exc) from None


def _config_error(exc: ValidationError) -> ConfigError:
    """One line per error, each naming its ``INSIGHTLITE_*`` variable."""
    lines = []
    for error in exc.errors():
        message = str(error["msg"])
        name = setting_name(tuple(error.get("loc", ())), message)
        lines.append(f"{name}: {message}")
    return ConfigError("invalid settings:\n  " + "\n  ".join(lines))
