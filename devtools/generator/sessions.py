"""Simulated browser sessions.

A session is built whole when it starts (a few dozen events) and handed back as the
batches the tracker would deliver: each batch shares one flush time (`sent_at`, on
the client clock) and one arrival time (`received_at`, on the server clock).
"""

from __future__ import annotations

import ipaddress
import math
import random
from itertools import accumulate
from typing import Final

from devtools.demo_geoip import DEMO_NETWORKS, UNLISTED_NETWORKS

from .config import GeneratorConfig
from .devices import BOTS, CRAWLER, HEADLESS, HUMAN_DEVICES
from .pages import EXTERNAL_REFERRERS
from .visit import Event, Site, Visit, new_uuid4

Batch = tuple[int, list[Event]]  # (received_at, events delivered together)

FLUSH_INTERVAL_MS: Final = 5_000
MAX_BATCH_EVENTS: Final = 25
NO_SENT_AT_SHARE: Final = 0.06  # sessions whose (older) tracker sends no sent_at
SHARED_IP_SHARE: Final = 0.05
UNLISTED_IP_SHARE: Final = 0.03
_SKEW_MIN_MS: Final = 2 * 60_000
_SKEW_MAX_MS: Final = 6 * 3_600_000
# Crawler and data-centre ranges are where bots come from, not people.
_NON_HUMAN_NETWORKS: Final = frozenset(network for bot in BOTS for network in bot.networks)


class _Network:
    __slots__ = ("first", "size", "version")

    def __init__(self, cidr: str) -> None:
        network = ipaddress.ip_network(cidr)
        self.first = int(network.network_address)
        self.size = network.num_addresses
        self.version = network.version

    def random_host(self, rng: random.Random) -> str:
        # Skip the network and broadcast addresses.
        value = self.first + rng.randrange(1, self.size - 1)
        if self.version == 4:
            return str(ipaddress.IPv4Address(value))
        return str(ipaddress.IPv6Address(value))


class SessionFactory:
    """Makes sessions of every kind from one random stream."""

    def __init__(self, rng: random.Random, config: GeneratorConfig) -> None:
        self.rng = rng
        self.config = config
        self.sites = tuple(Site(index, host) for index, host in enumerate(config.sites))
        self.device_weights = list(accumulate(device.weight for device in HUMAN_DEVICES))
        self.bot_weights = list(accumulate(bot.weight for bot in BOTS))
        self.human_networks = tuple(
            _Network(cidr) for cidr, _ in DEMO_NETWORKS if cidr not in _NON_HUMAN_NETWORKS
        )
        self.unlisted_networks = tuple(_Network(cidr) for cidr in UNLISTED_NETWORKS)
        self.bot_networks = {cidr: _Network(cidr) for bot in BOTS for cidr in bot.networks}
        self.recent_ips: list[str] = []

    def session(self, start: int) -> tuple[list[Batch], int]:
        """The batches of one new session starting at `start`, and its last flush time."""
        rng = self.rng
        if rng.random() < self.config.skewed_clock_share:
            magnitude = math.exp(rng.uniform(math.log(_SKEW_MIN_MS), math.log(_SKEW_MAX_MS)))
            skew = int(magnitude) * rng.choice((-1, 1))
            sends_sent_at = True  # only skew that the pipeline can correct
        else:
            skew = rng.randint(-1_500, 1_500)
            sends_sent_at = rng.random() >= NO_SENT_AT_SHARE
        if rng.random() < self.config.bot_share:
            return self._bot_session(start, skew, sends_sent_at)
        return self._human_session(start, skew, sends_sent_at)

    def _human_ip(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < SHARED_IP_SHARE and self.recent_ips:
            return rng.choice(self.recent_ips)  # NAT, office or household
        if roll < SHARED_IP_SHARE + UNLISTED_IP_SHARE:
            ip = rng.choice(self.unlisted_networks).random_host(rng)
        else:
            ip = rng.choice(self.human_networks).random_host(rng)
        if len(self.recent_ips) < 64:
            self.recent_ips.append(ip)
        else:
            self.recent_ips[rng.randrange(64)] = ip
        return ip

    def _human_session(self, start: int, skew: int, sends_sent_at: bool) -> tuple[list[Batch], int]:
        rng = self.rng
        config = self.config
        device = rng.choices(HUMAN_DEVICES, cum_weights=self.device_weights)[0]
        vw, vh = rng.choice(device.viewports)
        site = rng.choice(self.sites)
        visit = Visit(rng, site, start, skew, vw, vh, device.has_pointer)
        page_count = 1
        while page_count < 12 and rng.random() < 0.6:
            page_count += 1
        rage_page = rng.randrange(page_count) if rng.random() < config.rage_click_share else -1
        error_pages: list[int] = []
        if rng.random() < config.error_share:
            error_pages = [rng.randrange(page_count) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        referrer = rng.choice(EXTERNAL_REFERRERS) if rng.random() < 0.45 else None
        for page_index in range(page_count):
            page = rng.choices(site.pages, cum_weights=site.page_weights)[0]
            url = visit.pageview(page, referrer)
            for _ in range(error_pages.count(page_index)):
                visit.t += rng.randint(50, 3_000)
                visit.error()
            action_count = rng.randint(2, 9)
            rage_action = rng.randrange(action_count) if page_index == rage_page else -1
            for action in range(action_count):
                visit.t += rng.randint(600, 4_000)
                if action == rage_action:
                    document_spots = [spot for spot in page.hotspots if not spot.fixed]
                    visit.rage_burst(rng.choice(document_spots))
                    continue
                roll = rng.random()
                if roll < 0.4 and visit.pointer:
                    visit.move_burst(rng.randrange(vw), rng.randrange(vh), rng.randint(3, 12))
                elif roll < 0.68:
                    visit.scroll_burst()
                elif roll < 0.93:
                    visit.click(rng.choice(page.hotspots))
                else:
                    visit.custom()
            referrer = url
            visit.t += rng.randint(300, 2_500)
        return self._deliver(
            visit.times, visit.events, skew, sends_sent_at, self._human_ip(), device.user_agent
        )

    def _bot_session(self, start: int, skew: int, sends_sent_at: bool) -> tuple[list[Batch], int]:
        rng = self.rng
        bot = rng.choices(BOTS, cum_weights=self.bot_weights)[0]
        if bot.networks:
            ip = self.bot_networks[rng.choice(bot.networks)].random_host(rng)
        else:
            ip = self._human_ip()
        if bot.behaviour not in (CRAWLER, HEADLESS):
            # Scripts post events by hand: no clock correction, no viewport.
            skew, sends_sent_at = 0, False
        site = rng.choice(self.sites)
        session_id = new_uuid4(rng)
        times: list[int] = []
        events: list[Event] = []
        t = start
        if bot.behaviour == CRAWLER:
            page_count, gap_low, gap_high = rng.randint(3, 25), 800, 6_000
        elif bot.behaviour == HEADLESS:
            page_count, gap_low, gap_high = rng.randint(2, 15), 300, 2_000
        else:
            page_count, gap_low, gap_high = rng.randint(5, 40), 50, 400
        for _ in range(page_count):
            page = rng.choices(site.pages, cum_weights=site.page_weights)[0]
            url = site.origin + rng.choice(page.paths)
            if page.order_path:
                url += str(rng.randint(10_000_000, 99_999_999))
            event: Event = {
                "v": 1,
                "event_id": new_uuid4(rng),
                "site_id": site.host,
                "session_id": session_id,
                "type": "pageview",
                "ts": t + skew,
                "url": url,
            }
            if bot.viewport is not None:
                event["vw"], event["vh"] = bot.viewport
            times.append(t)
            events.append(event)
            if bot.behaviour == HEADLESS and bot.viewport is not None:
                vw, vh = bot.viewport
                scroll_y = 0
                for _ in range(rng.randint(2, 5)):
                    t += rng.randint(40, 150)
                    scroll_y += vh
                    times.append(t)
                    events.append(
                        {
                            "v": 1,
                            "event_id": new_uuid4(rng),
                            "site_id": site.host,
                            "session_id": session_id,
                            "type": "scroll",
                            "ts": t + skew,
                            "url": url,
                            "scroll_y": scroll_y,
                            "vw": vw,
                            "vh": vh,
                        }
                    )
            t += rng.randint(gap_low, gap_high)
        return self._deliver(times, events, skew, sends_sent_at, ip, bot.user_agent)

    def _deliver(
        self,
        times: list[int],
        events: list[Event],
        skew: int,
        sends_sent_at: bool,
        ip: str,
        user_agent: str,
    ) -> tuple[list[Batch], int]:
        """Group events into tracker flushes and stamp what the collector adds."""
        rng = self.rng
        batches: list[Batch] = []
        count = len(events)
        index = 0
        last_flush = times[0] if times else 0
        while index < count:
            deadline = times[index] + FLUSH_INTERVAL_MS
            end = index + 1
            while (
                end < count
                and times[end] <= deadline
                and end - index < MAX_BATCH_EVENTS
                and events[end]["type"] != "pageview"
            ):
                end += 1
            if end < count and times[end] <= deadline and events[end]["type"] == "pageview":
                # Navigation: the tracker flushes with a beacon as the page unloads.
                flush = max(times[end - 1], times[end] - rng.randint(20, 250))
            elif end - index >= MAX_BATCH_EVENTS:
                flush = times[end - 1] + rng.randint(1, 30)
            else:
                flush = deadline
            # Mostly quick arrivals, with a slow-network tail.
            slow = rng.random() >= 0.9
            latency = rng.randint(400, 4_000) if slow else rng.randint(25, 400)
            received = flush + latency
            if sends_sent_at:
                stamp = {
                    "sent_at": flush + skew,
                    "ip": ip,
                    "ua": user_agent,
                    "received_at": received,
                }
            else:
                stamp = {"ip": ip, "ua": user_agent, "received_at": received}
            batch = events[index:end]
            for event in batch:
                event.update(stamp)
            batches.append((received, batch))
            last_flush = max(last_flush, flush)
            index = end
        return batches, last_flush
