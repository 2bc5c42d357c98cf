"""One human visit being simulated: pointer, scroll position and clock, and the
events each action (move, scroll, click, rage burst, error, custom event) produces."""

from __future__ import annotations

import random
from itertools import accumulate
from typing import Any, Final

from .pages import (
    CUSTOM_EVENTS,
    ERROR_TEMPLATES,
    FRAGMENTS,
    QUERY_STRINGS,
    SITE_PROFILES,
    Hotspot,
    Page,
)

Event = dict[str, Any]

MIN_GAP_BETWEEN_CLICKS_MS: Final = 1_200  # ordinary clicks never look like a rage burst
_UUID_CLEAR: Final = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET: Final = (0x4000 << 64) | (0x8000 << 48)


class ProtectedEvent(dict[str, Any]):
    """A rage-burst click. Record-level anomalies that would move its ts or break the
    record pass it by, so every planted burst reaches the output intact."""


def new_uuid4(rng: random.Random) -> str:
    """A version-4 UUID string drawn from `rng` (not os.urandom), so runs repeat."""
    digits = "%032x" % ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class Site:
    """A configured site with the page catalogue, script errors and custom events of
    its profile (shop, blog or docs, in turn by position in config.sites)."""

    __slots__ = ("customs", "errors", "host", "origin", "page_weights", "pages")

    def __init__(self, index: int, host: str) -> None:
        profile = index % len(SITE_PROFILES)
        self.host = host
        self.origin = f"https://{host}"
        self.pages: tuple[Page, ...] = SITE_PROFILES[profile]
        self.page_weights = list(accumulate(page.weight for page in self.pages))
        self.customs = CUSTOM_EVENTS[profile]
        self.errors = tuple(
            {
                "message": message,
                "source": source.format(origin=self.origin),
                "line": line,
                "col": col,
                "stack": stack.format(origin=self.origin),
            }
            for message, source, line, col, stack in ERROR_TEMPLATES
        )


class Visit:
    """The state of one human session while its events are being made."""

    __slots__ = (
        "dh",
        "events",
        "last_click",
        "pointer",
        "px",
        "py",
        "rng",
        "scroll_y",
        "session_id",
        "site",
        "skew",
        "t",
        "times",
        "touch",
        "url",
        "vh",
        "vw",
    )

    def __init__(
        self, rng: random.Random, site: Site, t: int, skew: int, vw: int, vh: int, pointer: bool
    ) -> None:
        self.rng = rng
        self.site = site
        self.session_id = new_uuid4(rng)
        self.t = t
        self.skew = skew
        self.vw = vw
        self.vh = vh
        self.pointer = pointer
        self.touch = not pointer
        self.events: list[Event] = []
        self.times: list[int] = []
        self.url = site.origin
        self.dh = vh
        self.scroll_y = 0
        self.px = vw // 2
        self.py = vh // 2
        self.last_click = -(10**15)

    def _emit(self, event: Event) -> None:
        self.events.append(event)
        self.times.append(self.t)

    def _base(self, event_type: str) -> Event:
        return {
            "v": 1,
            "event_id": new_uuid4(self.rng),
            "site_id": self.site.host,
            "session_id": self.session_id,
            "type": event_type,
            "ts": self.t + self.skew,
            "url": self.url,
        }

    def pageview(self, page: Page, referrer: str | None) -> str:
        rng = self.rng
        path = rng.choice(page.paths)
        if page.order_path:
            path += str(rng.randint(10_000_000, 9_999_999_999))
        if rng.random() < 0.12:
            path += rng.choice(QUERY_STRINGS)
        if rng.random() < 0.06:
            path += rng.choice(FRAGMENTS)
        self.url = self.site.origin + path
        self.dh = page.height_desktop if self.pointer else page.height_mobile
        self.scroll_y = 0
        event = self._base("pageview")
        if referrer is not None:
            event["referrer"] = referrer
        event["vw"] = self.vw
        event["vh"] = self.vh
        event["dh"] = self.dh
        self._emit(event)
        return self.url

    def _coordinate(self, value: float) -> float | int:
        # Touch events report fractional CSS pixels; mouse events whole ones.
        if self.touch:
            return round(value + self.rng.random(), 2)
        return int(value)

    def move_burst(self, target_x: int, target_y: int, steps: int) -> None:
        """Pointer moves about every 500 ms, closing in on the target (viewport px)."""
        # random() arithmetic instead of randint(): this is the hottest loop, and
        # randint costs several times more per draw.
        random = self.rng.random
        for step in range(steps, 0, -1):
            self.t += 380 + int(random() * 241)
            self.px = min(
                self.vw - 1, max(0, self.px + (target_x - self.px) // step + int(random() * 19) - 9)
            )
            self.py = min(
                self.vh - 1, max(0, self.py + (target_y - self.py) // step + int(random() * 19) - 9)
            )
            event = self._base("move")
            event["x"] = self.px
            event["y"] = self.scroll_y + self.py
            event["vw"] = self.vw
            event["vh"] = self.vh
            self._emit(event)

    def _scroll_event(self) -> None:
        event = self._base("scroll")
        event["scroll_y"] = self.scroll_y
        event["vw"] = self.vw
        event["vh"] = self.vh
        event["dh"] = self.dh
        self._emit(event)

    def scroll_burst(self) -> None:
        rng = self.rng
        max_scroll = max(0, self.dh - self.vh)
        upward = rng.random() < 0.12
        random = rng.random
        for _ in range(rng.randint(2, 6)):
            step = 150 + int(random() * 751)
            target = (
                max(0, self.scroll_y - step) if upward else min(max_scroll, self.scroll_y + step)
            )
            if target == self.scroll_y:
                return
            self.t += 120 + int(random() * 581)
            self.scroll_y = target
            self._scroll_event()

    def _bring_into_view(self, y_doc: int) -> None:
        if self.scroll_y + 10 <= y_doc <= self.scroll_y + self.vh - 10:
            return
        rng = self.rng
        max_scroll = max(0, self.dh - self.vh)
        goal = min(max_scroll, max(0, y_doc - int(self.vh * 0.4)))
        steps = rng.randint(1, 3)
        start = self.scroll_y
        for step in range(1, steps + 1):
            self.t += rng.randint(150, 500)
            self.scroll_y = start + (goal - start) * step // steps
            self._scroll_event()

    def _hotspot_point(self, hotspot: Hotspot) -> tuple[int, int]:
        # Document coordinates (viewport ones for fixed elements) of the element centre.
        x = int(hotspot.x_share * self.vw)
        y = hotspot.y_desktop if self.pointer else hotspot.y_mobile
        if hotspot.fixed:
            return x, y if y >= 0 else self.vh + y
        return x, min(y, max(0, self.dh - 12))

    def click(self, hotspot: Hotspot) -> None:
        rng = self.rng
        x, y = self._hotspot_point(hotspot)
        if not hotspot.fixed:
            self._bring_into_view(y)
        if self.pointer:
            self.move_burst(x, y - self.scroll_y if not hotspot.fixed else y, rng.randint(1, 3))
        self.t = max(self.t + rng.randint(150, 600), self.last_click + MIN_GAP_BETWEEN_CLICKS_MS)
        self.last_click = self.t
        x = min(self.vw - 1, max(0, x + rng.randint(-14, 14)))
        y = max(0, y + rng.randint(-10, 10))
        if hotspot.fixed:
            y = min(self.vh - 1, y)
        event = self._base("click")
        event["x"] = self._coordinate(x)
        event["y"] = self._coordinate(y)
        event["vw"] = self.vw
        event["vh"] = self.vh
        event["dh"] = self.dh
        event["target"] = hotspot.selector
        if hotspot.fixed:
            event["fixed"] = True
        self._emit(event)

    def rage_burst(self, hotspot: Hotspot) -> None:
        """3-6 clicks, each within 1000 ms and |dx|+|dy| < 30 px of the one before."""
        rng = self.rng
        x, y = self._hotspot_point(hotspot)
        self._bring_into_view(y)
        self.t = max(self.t, self.last_click + MIN_GAP_BETWEEN_CLICKS_MS)
        centre_x = min(self.vw - 8, max(7, x + rng.randint(-14, 14)))
        centre_y = max(7, y + rng.randint(-10, 10))
        for index in range(rng.randint(3, 6)):
            if index:
                self.t += rng.randint(90, 450)
            event = ProtectedEvent(self._base("click"))
            # Offsets of at most 6 px (plus a fractional part on touch) per axis.
            event["x"] = self._coordinate(centre_x + rng.randint(-6, 6))
            event["y"] = self._coordinate(centre_y + rng.randint(-6, 6))
            event["vw"] = self.vw
            event["vh"] = self.vh
            event["dh"] = self.dh
            event["target"] = hotspot.selector
            self._emit(event)
        self.last_click = self.t

    def custom(self) -> None:
        name, props = self.rng.choice(self.site.customs)
        event = self._base("custom")
        event["name"] = name
        event["props"] = props
        self._emit(event)

    def error(self) -> None:
        event = self._base("error")
        event["error"] = self.rng.choice(self.site.errors)
        self._emit(event)
