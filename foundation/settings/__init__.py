"""The one configuration model of InsightLite.

Every setting is read from an ``INSIGHTLITE_<NAME>`` environment variable and
can be overridden by a command-line flag. Settings are validated when the
process starts; an error names the environment variable it came from. The model
is frozen: a variant is a new instance.

One module per section (pipeline, kafka, collector, api, auth, webhooks, replay) defines its
fields and checks; :mod:`foundation.settings.model` combines them into
:class:`Settings`.
"""

from foundation.settings.api import TIERS, Tier
from foundation.settings.common import (
    ENV_PREFIX,
    SITE_ID_PATTERN,
    ConfigError,
    check_storage_url,
    setting_name,
    split_csv,
)
from foundation.settings.model import Settings, load_settings
from foundation.settings.pipeline import DEFAULT_BOT_PATTERNS

__all__ = [
    "DEFAULT_BOT_PATTERNS",
    "ENV_PREFIX",
    "SITE_ID_PATTERN",
    "TIERS",
    "ConfigError",
    "Settings",
    "Tier",
    "check_storage_url",
    "load_settings",
    "setting_name",
    "split_csv",
]
