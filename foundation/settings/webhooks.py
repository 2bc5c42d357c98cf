"""Settings of the export notices (webhooks) the query API sends."""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from foundation.settings.common import SITE_ID_PATTERN


def parse_webhook_urls(value: Any) -> Any:
    """``"site=url,site2=url"`` as a dict; dicts pass through for the validator."""
    if not isinstance(value, str):
        return value
    urls: dict[str, str] = {}
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        site, separator, url = entry.partition("=")
        if not separator:
            raise ValueError(f"{entry!r} is not site=url")
        urls[site.strip()] = url.strip()
    return urls


class WebhookSettings(BaseModel):
    """The webhooks' section of :class:`foundation.settings.Settings`."""

    webhook_urls: Annotated[dict[str, str], NoDecode, BeforeValidator(parse_webhook_urls)] = Field(
        default_factory=dict, description="Per-site export notice URLs: 'site=url,site2=url'."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the X-InsightLite-Signature header."
    )
    webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    webhook_backoff_seconds: float = Field(
        default=1.0, ge=0, le=3600, description="First retry delay; doubles each attempt."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @field_validator("webhook_urls")
    @classmethod
    def _webhook_entries(cls, value: dict[str, str]) -> dict[str, str]:
        for site, url in value.items():
            if not SITE_ID_PATTERN.fullmatch(site):
                raise ValueError(f"{site!r} is not a site id (1-64 of A-Za-z0-9._-)")
            if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", url):
                raise ValueError(f"the URL of {site!r} must be http:// or https://")
        return value

    @model_validator(mode="after")
    def _webhook_secret_given(self) -> Self:
        if self.webhook_urls and self.webhook_secret is None:
            raise ValueError("webhook_secret: required when webhook_urls is set")
        if self.webhook_secret is not None and len(self.webhook_secret.get_secret_value()) < 16:
            raise ValueError("webhook_secret: must be at least 16 characters")
        return self
