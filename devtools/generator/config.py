"""Knobs of the synthetic traffic generator."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

# Record-level anomalies are drawn from one uniform number per event, so they are
# mutually exclusive and their shares must fit into one unit interval together.
RECORD_LEVEL_SHARES: Final = (
    "pii_share",
    "malformed_share",
    "late_share",
    "future_share",
    "out_of_order_share",
    "duplicate_share",
)


@dataclass(frozen=True)
class GeneratorConfig:
    """What the generated traffic looks like.

    Session-level shares (`bot_share`, `skewed_clock_share`) are shares of all
    sessions; `rage_click_share` and `error_share` are shares of human (non-bot)
    sessions, since the bots simulated here neither click nor run into script errors.
    The other shares are shares of emitted records.
    """

    start_ms: int | None = None
    sites: tuple[str, ...] = ("shop.example.com", "blog.example.org", "docs.example.net")
    concurrent_sessions: int = 200
    bot_share: float = 0.04
    malformed_share: float = 0.01
    pii_share: float = 0.05
    late_share: float = 0.002
    future_share: float = 0.001
    skewed_clock_share: float = 0.05
    out_of_order_share: float = 0.03
    duplicate_share: float = 0.005
    rage_click_share: float = 0.08
    error_share: float = 0.1

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name.endswith("_share"):
                value = getattr(self, field.name)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{field.name} must be a number, got {value!r}")
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{field.name} must be between 0 and 1, got {value!r}")
        record_total = sum(getattr(self, name) for name in RECORD_LEVEL_SHARES)
        if record_total > 1.0:
            raise ValueError(
                f"{' + '.join(RECORD_LEVEL_SHARES)} must add up to at most 1, got {record_total}"
            )
        if isinstance(self.concurrent_sessions, bool) or not isinstance(
            self.concurrent_sessions, int
        ):
            raise ValueError("concurrent_sessions must be an integer")
        if self.concurrent_sessions < 1:
            raise ValueError(
                f"concurrent_sessions must be at least 1, got {self.concurrent_sessions}"
            )
        if not self.sites:
            raise ValueError("sites must name at least one site")
        for site in self.sites:
            if not _is_valid_site(site):
                raise ValueError(f"sites: {site!r} is not a 1-64 character [A-Za-z0-9.-] host")
        if self.start_ms is not None and (
            isinstance(self.start_ms, bool) or not isinstance(self.start_ms, int)
        ):
            raise ValueError(f"start_ms must be epoch milliseconds or None, got {self.start_ms!r}")
        if self.start_ms is not None and self.start_ms < 0:
            raise ValueError(f"start_ms must not be negative, got {self.start_ms}")


def _is_valid_site(site: object) -> bool:
    # A site is both the site_id and the URL host, so it has to satisfy both.
    if not isinstance(site, str) or not 1 <= len(site) <= 64:
        return False
    return all(ch.isascii() and (ch.isalnum() or ch in ".-") for ch in site)
