"""Settings of how long each store keeps its data, within the CNIL audience-measurement
exemption: identifiers (the visitor hash a row carries) at most 13 months, collected
data at most 25 months.

A value above the exemption's limit fails at start, naming the setting, unless
``INSIGHTLITE_RETENTION_BEYOND_EXEMPTION`` is true (a site that collects consent and so
does not rely on the exemption): then it is accepted and a warning is logged at start.
``INSIGHTLITE_REPLAY_RETENTION_DAYS`` (older than these settings, and allowed up to ten
years so far) above the limit only logs the warning, so an existing deployment still
starts.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field, model_validator

log = logging.getLogger("insightlite.settings")

# The exemption's limits, in the units of the settings. A month is counted as 30.4 days
# (a year's 365 days / 12, rounded down) for the day-counted settings.
IDENTIFIER_MONTHS = 13
DATA_MONTHS = 25
DATA_DAYS = 760

# The settings holding rows with an identifier (the keyed visitor hash): 13 months.
_IDENTIFIER_SETTINGS = ("events_retention_months", "archive_retention_months")
# Settings of data without identifiers, in months then in days: 25 months.
_DATA_MONTH_SETTINGS = ("sessions_retention_months", "heatmap_retention_months")
_DATA_DAY_SETTINGS = ("dead_letter_retention_days", "replay_retention_days")
# Above the limit, these only warn (see the module doc).
_WARN_ONLY_SETTINGS = frozenset({"replay_retention_days"})


class RetentionSettings(BaseModel):
    """The retention section of :class:`foundation.settings.Settings`."""

    events_retention_months: int = Field(
        default=13, ge=1, le=120, description="Months the events table keeps a row (TTL)."
    )
    sessions_retention_months: int = Field(
        default=13, ge=1, le=120, description="Months the sessions table keeps a session (TTL)."
    )
    heatmap_retention_months: int = Field(
        default=25,
        ge=1,
        le=120,
        description="Months the heatmap_aggregates table keeps a day's counts (TTL).",
    )
    archive_retention_months: int = Field(
        default=13,
        ge=1,
        le=120,
        description="Months the Parquet archive keeps a day of events "
        "(`insightlite retention apply`, the bucket's lifecycle rule).",
    )
    dead_letter_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a dead letter is kept (`insightlite retention apply`, the "
        "bucket's lifecycle rule).",
    )
    retention_beyond_exemption: bool = Field(
        default=False,
        description="Accept retentions above the CNIL exemption's limits (with a warning).",
    )

    @model_validator(mode="after")
    def _check_retention_limits(self) -> Any:
        over = _over_limits(self)
        refused = [message for name, message in over if name not in _WARN_ONLY_SETTINGS]
        if refused and not self.retention_beyond_exemption:
            raise ValueError(
                refused[0] + "; lower it, or set INSIGHTLITE_RETENTION_BEYOND_EXEMPTION=true "
                "when the site does not rely on the CNIL exemption"
            )
        for _, message in over:
            log.warning("%s: the data is kept beyond the CNIL exemption", message)
        return self


def _over_limits(settings: Any) -> list[tuple[str, str]]:
    """(setting, message) for each setting above its limit; the message starts with the
    setting's name."""
    found = []
    checks = (
        [(name, IDENTIFIER_MONTHS, "months", "") for name in _IDENTIFIER_SETTINGS]
        + [(name, DATA_MONTHS, "months", "") for name in _DATA_MONTH_SETTINGS]
        + [(name, DATA_DAYS, "days", ", 25 months") for name in _DATA_DAY_SETTINGS]
    )
    for name, limit, unit, limit_text in checks:
        value = getattr(settings, name, None)
        if isinstance(value, int) and value > limit:
            found.append(
                (
                    name,
                    f"{name}: {value} {unit} is above the CNIL audience-measurement exemption's "
                    f"limit ({limit} {unit}{limit_text})",
                )
            )
    return found
