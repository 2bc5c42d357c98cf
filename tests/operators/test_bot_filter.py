from __future__ import annotations

import pytest

from foundation.settings import DEFAULT_BOT_PATTERNS
from operators.bot_filter import BotFilter
from operators.model import EventBatch
from operators.user_agent import UserAgentClassifier
from tests.operators.conftest import make_event
from tests.operators.visitor_support import resolver

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

CLASSIFIER = UserAgentClassifier(DEFAULT_BOT_PATTERNS)


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        ("", "empty_user_agent"),
        ("   ", "empty_user_agent"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "known_bot"),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "known_bot"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/131.0.0.0 Safari/537.36",
            "headless_browser",
        ),
        ("python-requests/2.32.3", "bot_pattern"),
        ("curl/8.5.0", "bot_pattern"),
        ("Go-http-client/1.1", "bot_pattern"),
        (CHROME, None),
        (IPHONE, None),
        (IPAD, None),
        (ANDROID, None),
        (FIREFOX_LINUX, None),
    ],
)
def test_bot_reasons(ua: str, reason: str | None) -> None:
    assert CLASSIFIER.classify(ua).bot_reason == reason


@pytest.mark.parametrize(
    ("ua", "device"),
    [
        (CHROME, "desktop"),
        (FIREFOX_LINUX, "desktop"),
        (IPHONE, "mobile"),
        (ANDROID, "mobile"),
        (IPAD, "tablet"),
        ("", "other"),
    ],
)
def test_device_types(ua: str, device: str) -> None:
    assert CLASSIFIER.classify(ua).device_type == device


def test_configured_pattern_is_used() -> None:
    classifier = UserAgentClassifier(["acme-monitor"])
    assert classifier.classify("ACME-Monitor/1.0 " + CHROME).bot_reason == "bot_pattern"
    assert classifier.classify(CHROME).bot_reason is None


def test_cache_is_bounded_and_consistent() -> None:
    classifier = UserAgentClassifier(DEFAULT_BOT_PATTERNS, cache_size=3)
    for index in range(10):
        classifier.classify(f"{CHROME} build/{index}")
    assert len(classifier._cache) <= 3
    assert classifier.classify(CHROME) == classifier.classify(CHROME)


def test_filter_counts_by_reason_and_keeps_humans() -> None:
    events = [
        make_event(ua=CHROME),
        make_event(ua="curl/8.5.0"),
        make_event(ua="curl/8.6.0"),
        make_event(ua=""),
        make_event(ua=None),
        make_event(ua=IPHONE),
    ]
    batch = EventBatch("t", 0, 5, 6, events)
    out = BotFilter(resolver()).apply(batch)
    assert [event["_visitor"].device for event in out.events] == ["desktop", "mobile"]
    assert not any("ua" in event or "ip" in event for event in out.events)
    assert out.filtered == {"bot_pattern": 2, "empty_user_agent": 2}
    assert not out.rejected
