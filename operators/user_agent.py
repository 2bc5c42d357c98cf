"""What a User-Agent string says: bot or browser, and the device class.

Parsing a UA with `user_agents` costs about half a millisecond, but a site
sees few distinct UA strings, so results are cached by the exact string in a
bounded dict (cleared when full: simpler than an LRU, and the hot strings are
back within one batch).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import user_agents
import xxhash

DEVICE_DESKTOP = "desktop"
DEVICE_MOBILE = "mobile"
DEVICE_TABLET = "tablet"
DEVICE_OTHER = "other"
DEVICE_TYPES = (DEVICE_DESKTOP, DEVICE_MOBILE, DEVICE_TABLET, DEVICE_OTHER)

# Why a user agent is a bot; counted by the metrics and the run summary.
BOT_EMPTY = "empty_user_agent"
BOT_KNOWN = "known_bot"
BOT_HEADLESS = "headless_browser"
BOT_PATTERN = "bot_pattern"

HEADLESS_RE = re.compile(r"headless|phantomjs|puppeteer|playwright|selenium|webdriver", re.I)


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    bot_reason: str | None
    device_type: str
    ua_hash: int


class UserAgentClassifier:
    """Classifies UA strings with a bounded cache."""

    def __init__(self, bot_patterns: Sequence[str], cache_size: int = 50_000) -> None:
        self._patterns = (
            re.compile("|".join(f"(?:{p})" for p in bot_patterns), re.I) if bot_patterns else None
        )
        self._cache: dict[str, UserAgentInfo] = {}
        self._cache_size = cache_size

    def classify(self, ua: str) -> UserAgentInfo:
        info = self._cache.get(ua)
        if info is None:
            info = self._classify_uncached(ua)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[ua] = info
        return info

    def _classify_uncached(self, ua: str) -> UserAgentInfo:
        ua_hash = xxhash.xxh64_intdigest(ua.encode("utf-8", "surrogatepass"))
        if not ua.strip():
            return UserAgentInfo(BOT_EMPTY, DEVICE_OTHER, ua_hash)
        parsed = user_agents.parse(ua)
        if HEADLESS_RE.search(ua):
            reason: str | None = BOT_HEADLESS
        elif parsed.is_bot:
            reason = BOT_KNOWN
        elif self._patterns is not None and self._patterns.search(ua):
            reason = BOT_PATTERN
        else:
            reason = None
        if parsed.is_tablet:
            device = DEVICE_TABLET
        elif parsed.is_mobile:
            device = DEVICE_MOBILE
        elif parsed.is_pc:
            device = DEVICE_DESKTOP
        else:
            device = DEVICE_OTHER
        return UserAgentInfo(reason, device, ua_hash)
