"""What every section of the settings shares: the variable prefix, list parsing,
storage locations, and naming the variable an error came from."""

from __future__ import annotations

import json
import re
from typing import Any

ENV_PREFIX = "INSIGHTLITE_"
# \Z, not $ (which also matches before a final newline); use with fullmatch.
SITE_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting."""


def check_storage_url(value: str) -> str:
    """An archive-like location: a local path, file://, s3:// or memory://."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if match and match.group(1).lower() not in {"file", "s3", "memory"}:
        raise ValueError("must be a local path, file://, s3:// or memory://")
    return value


def split_csv(value: Any) -> Any:
    """``"a, b,,c"`` as ``["a", "b", "c"]``; anything else passes through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def parse_json_text(value: Any) -> Any:
    """A setting given as JSON text, parsed (empty text: ``{}``), so that bad JSON is an
    error naming the setting; anything else passes through."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg}") from None
    return value


def check_site_ids(sites: list[str]) -> list[str]:
    for site in sites:
        if not SITE_ID_PATTERN.fullmatch(site):
            raise ValueError(f"{site!r} is not a site id (1-64 of A-Za-z0-9._-)")
    return sites


def setting_name(location: tuple[Any, ...], message: str) -> str:
    """The variable an error is about: its field, or the ``name:`` a model check starts with."""
    if location:
        return ENV_PREFIX + str(location[0]).upper()
    match = re.match(r"^(?:Value error, )?(\w+):", message)
    return ENV_PREFIX + match.group(1).upper() if match else "settings"
