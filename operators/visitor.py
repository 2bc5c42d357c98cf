"""What the pipeline keeps of a client: derived from its IP and user agent, once per value.

The collector runs this on each request, so the raw IP and user agent never leave it;
the pipeline runs the same code on a record that still carries ``ip``/``ua`` (a file
made by ``insightlite generate``, a collector of an older version), so both paths give
identical rows.

- ``ip_hash``: a keyed 64-bit BLAKE2b of (site, IP). The key is a random 32-byte key of
  the UTC day of ``received_at``, the collector's clock: a browser cannot choose it
  (unlike ``ts``), and every event of a request uses one key, so a key is needed for at
  most a day plus the pipeline's lateness, then destroyed (connectors/visitor_keys/).
  Once a day's key is gone nobody can recompute its hashes, not even by trying every
  IPv4 address. The site is part of the input so one visitor cannot be joined across
  sites.
- ``ua_hash``: xxh64 of the user agent; ``device`` and ``bot`` (why it is a bot, or
  None) from operators/user_agent.py; ``country`` from the IP (operators/geo.py).

Each distinct IP is looked up once, each distinct (day, site, IP) hashed once and each
distinct user agent classified once per call: a batch holds few distinct clients.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from foundation.units import DAY_MS
from operators.geo import UNKNOWN_COUNTRY, CountryLookup
from operators.user_agent import DEVICE_TYPES, UserAgentClassifier, UserAgentInfo

# The record field holding the derived values (the collector writes it instead of ip/ua).
VISITOR_FIELD = "visitor"
VISITOR_KEYS = frozenset({"ip_hash", "country", "ua_hash", "device", "bot"})
KEY_BYTES = 32
MAX_UINT64 = 2**64 - 1
BOT_REASON_MAX_CHARS = 64
COUNTRY_MAX_CHARS = 8


class Client(NamedTuple):
    """One event's client as the collector saw it."""

    site_id: str
    ip: str
    ua: str
    received_at: int


@dataclass(frozen=True, slots=True)
class VisitorFields:
    """Everything the pipeline needs of a client, nothing that identifies it."""

    ip_hash: int
    country: str
    ua_hash: int
    device: str
    bot: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "ip_hash": self.ip_hash,
            "country": self.country,
            "ua_hash": self.ua_hash,
            "device": self.device,
            "bot": self.bot,
        }


def key_day(received_at: int) -> int:
    """The UTC day (days since the epoch) whose key hashes a record received then."""
    return received_at // DAY_MS


def visitor_hash(key: bytes, site_id: str, ip: str) -> int:
    """The keyed 64-bit hash of (site, IP); an empty IP hashes to 0 (unknown)."""
    if not ip:
        return 0
    digest = hashlib.blake2b(
        site_id.encode() + b"\0" + ip.encode("utf-8", "surrogatepass"), key=key, digest_size=8
    ).digest()
    return int.from_bytes(digest, "little")


class VisitorDeriver:
    """Derives ``VisitorFields`` for a batch of clients, with the day keys passed in."""

    def __init__(self, classifier: UserAgentClassifier, countries: CountryLookup | None) -> None:
        self.classifier = classifier
        self.countries = countries

    def derive(
        self, clients: Sequence[Client], day_keys: Mapping[int, bytes]
    ) -> list[VisitorFields]:
        """One ``VisitorFields`` per client, in order. KeyError if a day's key is missing."""
        countries: dict[str, str] = {}
        hashes: dict[tuple[int, str, str], int] = {}
        agents: dict[str, UserAgentInfo] = {}
        out: list[VisitorFields] = []
        for client in clients:
            ip, ua = client.ip, client.ua
            country = countries.get(ip)
            if country is None:
                country = self._country(ip)
                countries[ip] = country
            day = key_day(client.received_at)
            hash_key = (day, client.site_id, ip)
            ip_hash = hashes.get(hash_key)
            if ip_hash is None:
                key = day_keys[day]
                if len(key) != KEY_BYTES:
                    raise ValueError(f"the visitor key of day {day} is not {KEY_BYTES} bytes")
                ip_hash = visitor_hash(key, client.site_id, ip)
                hashes[hash_key] = ip_hash
            info = agents.get(ua)
            if info is None:
                info = self.classifier.classify(ua)
                agents[ua] = info
            out.append(
                VisitorFields(ip_hash, country, info.ua_hash, info.device_type, info.bot_reason)
            )
        return out

    def _country(self, ip: str) -> str:
        if self.countries is None or not ip:
            return UNKNOWN_COUNTRY
        return self.countries.country(ip)


def parse_visitor(value: object) -> VisitorFields | None:
    """The derived fields a record carries, or None when they are malformed."""
    if type(value) is not dict or value.keys() != VISITOR_KEYS:
        return None
    ip_hash, ua_hash = value["ip_hash"], value["ua_hash"]
    country, device, bot = value["country"], value["device"], value["bot"]
    if type(ip_hash) is not int or not 0 <= ip_hash <= MAX_UINT64:
        return None
    if type(ua_hash) is not int or not 0 <= ua_hash <= MAX_UINT64:
        return None
    if type(country) is not str or len(country) > COUNTRY_MAX_CHARS:
        return None
    if device not in DEVICE_TYPES:
        return None
    if bot is not None and (type(bot) is not str or not 0 < len(bot) <= BOT_REASON_MAX_CHARS):
        return None
    return VisitorFields(ip_hash, country, ua_hash, device, bot)


# Reasons a record's derived fields are refused (dead letters of the validate stage).
MALFORMED_VISITOR = "malformed_visitor"
VISITOR_WITH_CLIENT = "visitor_with_client"
VISITOR_REFUSALS = {
    MALFORMED_VISITOR: "the visitor field is not the collector's derived fields",
    VISITOR_WITH_CLIENT: "the record carries both the visitor field and ip/ua",
}
# Where a decoded event keeps its VisitorFields between the stages.
EVENT_VISITOR = "_visitor"

DayKeys = Callable[[set[int]], Mapping[int, bytes]]


def take_visitor(event: dict[str, Any]) -> str | None:
    """Move a record's derived fields into ``event[EVENT_VISITOR]``; the refusal code if bad.

    A record carries either the derived fields (the collector computed them) or ``ip``/
    ``ua`` (computed in the pipeline), never both: a record with both came from no
    collector, and which to trust cannot be told.
    """
    # The pipeline's own key: a record that brings it is not believed (nor can it
    # stand in for the derived fields of a legacy record).
    event.pop(EVENT_VISITOR, None)
    if VISITOR_FIELD not in event:
        return None
    if "ip" in event or "ua" in event:
        return VISITOR_WITH_CLIENT
    fields = parse_visitor(event[VISITOR_FIELD])
    if fields is None:
        return MALFORMED_VISITOR
    del event[VISITOR_FIELD]
    event[EVENT_VISITOR] = fields
    return None


class VisitorResolver:
    """Gives every event of a batch its VisitorFields, deriving them for records that still
    carry ``ip``/``ua`` (which are then dropped) with the same code as the collector.

    ``day_keys`` fetches the keys of the days asked for; it raises when the key store is
    unreachable (an infrastructure failure, retried by the caller).
    """

    def __init__(self, deriver: VisitorDeriver, day_keys: DayKeys) -> None:
        self.deriver = deriver
        self.day_keys = day_keys

    def resolve(self, events: list[dict[str, Any]]) -> None:
        legacy = [event for event in events if EVENT_VISITOR not in event]
        if not legacy:
            return
        clients = [
            Client(
                event["site_id"],
                _text(event.get("ip")),
                _text(event.get("ua")),
                event["received_at"],
            )
            for event in legacy
        ]
        keys = self.day_keys({key_day(client.received_at) for client in clients})
        for event, fields in zip(legacy, self.deriver.derive(clients, keys), strict=True):
            event.pop("ip", None)
            event.pop("ua", None)
            event[EVENT_VISITOR] = fields


def _text(value: object) -> str:
    return value if type(value) is str else ""
