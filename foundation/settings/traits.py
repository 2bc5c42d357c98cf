"""Settings of identify() traits: which trait keys a site keeps in clear."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from foundation.settings.common import SITE_ID_PATTERN, parse_json_text

TRAIT_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.$-]{1,64}\Z")
MAX_ALLOWED_KEYS = 100


class TraitSettings(BaseModel):
    """The identify() traits section of :class:`foundation.settings.Settings`."""

    # NoDecode: the text is parsed below, so that bad JSON names the setting.
    traits_allowed_keys: Annotated[dict[str, list[str]], NoDecode] = Field(
        default_factory=dict,
        description="Per-site identify() trait keys kept (still PII-masked), as JSON: "
        '{"site_id": ["plan", "company_size"]}; every other trait is redacted.',
    )

    @field_validator("traits_allowed_keys", mode="before")
    @classmethod
    def _parse_traits_allowed_keys(cls, value: Any) -> Any:
        return parse_json_text(value)

    @field_validator("traits_allowed_keys")
    @classmethod
    def _check_traits_allowed_keys(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for site, keys in value.items():
            if not SITE_ID_PATTERN.fullmatch(site):
                raise ValueError(f"{site!r} is not a site id (1-64 of A-Za-z0-9._-)")
            if len(keys) > MAX_ALLOWED_KEYS:
                raise ValueError(f"site {site!r}: at most {MAX_ALLOWED_KEYS} trait keys")
            for key in keys:
                if not TRAIT_KEY_PATTERN.fullmatch(key):
                    raise ValueError(f"site {site!r}: {key!r} is not a trait key")
        return value

    def allowed_trait_keys(self, site_id: str) -> frozenset[str]:
        """The trait keys ``site_id`` keeps in clear (none unless configured)."""
        return frozenset(self.traits_allowed_keys.get(site_id, ()))
