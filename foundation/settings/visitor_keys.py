"""Settings of the random daily visitor-hash keys (connectors/visitor_keys/)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator

MIN_RETENTION_HOURS = 24  # a key must outlive the day it hashes
MAX_RETENTION_HOURS = 24 * 7  # past a week the daily rotation stops meaning much
DEFAULT_KEY_DIRECTORY = "visitor-keys"
REMOVED_SECRET = (
    "removed: visitor hashes use random daily keys, destroyed after "
    "INSIGHTLITE_VISITOR_KEY_RETENTION_HOURS, kept in INSIGHTLITE_VISITOR_KEY_STORE "
    "(a redis:// URL or a directory); unset INSIGHTLITE_IP_HASH_SECRET"
)


class VisitorKeySettings(BaseModel):
    """The visitor-key section of :class:`foundation.settings.Settings`."""

    visitor_key_store: str = Field(
        default="",
        description="Where the daily visitor-hash keys live, shared by every collector and "
        "worker: a redis:// or rediss:// URL (production) or a directory; empty means "
        "'visitor-keys' under the data directory.",
    )
    visitor_key_retention_hours: int = Field(
        default=48,
        ge=MIN_RETENTION_HOURS,
        le=MAX_RETENTION_HOURS,
        description="Hours after the start of its UTC day when a day's key is destroyed "
        "(a day of use plus time for late events).",
    )
    # A plain str: it is never a valid value, so never handed on as a secret.
    ip_hash_secret: str | None = Field(
        default=None,
        repr=False,
        description="Removed: setting it fails at start (see the visitor-key settings).",
    )

    @field_validator("ip_hash_secret")
    @classmethod
    def _ip_hash_secret_removed(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(REMOVED_SECRET)
        return value

    @field_validator("visitor_key_store")
    @classmethod
    def _key_store_location(cls, value: str) -> str:
        if "://" in value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL, or a directory")
        return value

    def visitor_key_location(self, data_dir: Path) -> str:
        """The configured store, or the default directory under ``data_dir``."""
        return self.visitor_key_store or str(data_dir / DEFAULT_KEY_DIRECTORY)
