"""Browsers and bots the synthetic sessions come from, with their User-Agent strings
and the viewports they are seen with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- devices ------------------------------------------------------------------

DESKTOP: Final = "desktop"
PHONE: Final = "phone"
TABLET: Final = "tablet"


@dataclass(frozen=True, slots=True)
class Device:
    """A browser on a device class, with the viewports it is seen with."""

    kind: str
    user_agent: str
    viewports: tuple[tuple[int, int], ...]
    weight: float

    @property
    def has_pointer(self) -> bool:
        # Touch screens emit no mousemove events.
        return self.kind == DESKTOP


_DESKTOP_VIEWPORTS: Final = ((1920, 1080), (1536, 864), (1440, 900), (1366, 768), (2560, 1440))
_MAC_VIEWPORTS: Final = ((1440, 900), (1512, 982), (1728, 1117), (1280, 800))
_IPHONE_VIEWPORTS: Final = ((390, 844), (393, 852), (430, 932), (375, 667))
_ANDROID_VIEWPORTS: Final = ((412, 915), (360, 800), (384, 854), (412, 892))

HUMAN_DEVICES: Final[tuple[Device, ...]] = (
    Device(
        DESKTOP,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        _DESKTOP_VIEWPORTS,
        22,
    ),
    Device(
        DESKTOP,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        _MAC_VIEWPORTS,
        8,
    ),
    Device(
        DESKTOP,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        _DESKTOP_VIEWPORTS,
        5,
    ),
    Device(
        DESKTOP,
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ((1920, 1080), (2560, 1440)),
        1,
    ),
    Device(
        DESKTOP,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        _MAC_VIEWPORTS,
        6,
    ),
    Device(
        DESKTOP,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        _DESKTOP_VIEWPORTS,
        5,
    ),
    Device(
        PHONE,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        _IPHONE_VIEWPORTS,
        20,
    ),
    Device(
        PHONE,
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        _ANDROID_VIEWPORTS,
        18,
    ),
    Device(
        PHONE,
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        _ANDROID_VIEWPORTS,
        5,
    ),
    Device(
        TABLET,
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.7 Mobile/15E148 Safari/604.1",
        ((820, 1180), (768, 1024), (1024, 1366)),
        4,
    ),
    Device(
        TABLET,
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        ((800, 1280), (1280, 800)),
        2,
    ),
)

# --- bots -----------------------------------------------------------------------

CRAWLER: Final = "crawler"
HEADLESS: Final = "headless"
SCRIPT: Final = "script"


@dataclass(frozen=True, slots=True)
class Bot:
    """An automated client: how it announces itself and where it connects from."""

    behaviour: str
    user_agent: str
    viewport: tuple[int, int] | None
    networks: tuple[str, ...]  # empty: any listed or unlisted human range
    weight: float


BOTS: Final[tuple[Bot, ...]] = (
    Bot(
        CRAWLER,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        (1024, 1024),
        ("66.249.64.0/19",),
        20,
    ),
    Bot(
        CRAWLER,
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        (412, 732),
        ("66.249.64.0/19",),
        10,
    ),
    Bot(
        CRAWLER,
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        (1366, 768),
        ("157.55.39.0/24",),
        10,
    ),
    Bot(
        CRAWLER,
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        None,
        ("54.36.148.0/22",),
        5,
    ),
    Bot(
        CRAWLER,
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        None,
        ("5.255.253.0/24",),
        5,
    ),
    Bot(
        HEADLESS,
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        (800, 600),
        ("3.80.0.0/12",),
        25,
    ),
    Bot(SCRIPT, "python-requests/2.32.3", None, (), 15),
    Bot(SCRIPT, "curl/8.5.0", None, (), 10),
)

BOT_USER_AGENTS: Final[tuple[str, ...]] = tuple(bot.user_agent for bot in BOTS)
HUMAN_USER_AGENTS: Final[tuple[str, ...]] = tuple(device.user_agent for device in HUMAN_DEVICES)
