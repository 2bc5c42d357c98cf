"""Settings of the minimum crowd (k-anonymity) applied to every aggregate a person can
see: heatmap cells, scroll-depth rows, breakdown rows and error groups backed by fewer
than k distinct sessions are suppressed."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from foundation.settings.common import SITE_ID_PATTERN, parse_json_text

MAX_MIN_CROWD = 1_000_000


class PrivacySettings(BaseModel):
    """The minimum-crowd section of :class:`foundation.settings.Settings`."""

    min_crowd: int = Field(
        default=5,
        ge=1,
        le=MAX_MIN_CROWD,
        description="Fewest distinct sessions an aggregate row must have to be shown "
        "(1 turns the minimum crowd off).",
    )
    # NoDecode: the JSON is read by the validator below, so that bad JSON is an error
    # naming the setting like any other, not the environment reader's own.
    min_crowd_sites: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description='Per-site minimum crowd, as JSON: {"site_id": k}.',
    )

    @field_validator("min_crowd_sites", mode="before")
    @classmethod
    def _parse_min_crowd_sites(cls, value: Any) -> Any:
        return parse_json_text(value)

    @field_validator("min_crowd_sites")
    @classmethod
    def _check_min_crowd_sites(cls, value: dict[str, int]) -> dict[str, int]:
        for site, k in value.items():
            if not SITE_ID_PATTERN.fullmatch(site):
                raise ValueError(f"{site!r} is not a site id (1-64 of A-Za-z0-9._-)")
            if not 1 <= k <= MAX_MIN_CROWD:
                raise ValueError(f"site {site!r}: k must be between 1 and {MAX_MIN_CROWD}")
        return value

    def min_crowd_for(self, site_id: str) -> int:
        """The k that applies to ``site_id``: its override, else the default."""
        return self.min_crowd_sites.get(site_id, self.min_crowd)
