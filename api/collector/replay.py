"""The collector's ``POST /replay``: one session-replay chunk into ``replay_events``.

The body is one chunk (foundation/contract/replay-chunk-v1.schema.json), as JSON or as
gzip of it. The tracker sends gzip as ``text/plain`` without ``Content-Encoding``, so the
request needs no CORS preflight: gzip is recognised by its first two bytes (0x1f 0x8b;
JSON never starts with them), and ``Content-Encoding: gzip`` is accepted as well.

Only the envelope is checked here: what the collector needs to route, bound and key the
chunk (an object with a site id, a session id, a chunk id and 1 to N events). Whether
the chunk follows the contract is the pipeline's replay step to judge, and a bad one
becomes a dead letter there with its reasons.

The record is the chunk with ``received_at`` (the collector's clock), ``country_code``
(the client's address through the GeoIP database, as the pipeline's enrich stage finds
it; empty when unknown or off) and ``device_type`` (from the user agent) set, whatever
the browser sent for them. ``ip`` and ``ua`` keys are removed: neither the client's
address nor its user agent is ever written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.collector.envelope import (
    EnvelopeError,
    check_media_type,
    encode_record,
    gunzip_bounded,
    is_gzip,
    rate_limit_key,
    too_large,
)
from api.collector.handling import (
    CORS_HEADERS,
    RecordSink,
    RequestHandling,
    ThrottledLog,
    json_response,
    rate_limited,
    send_records,
    user_agent,
)
from api.collector.metrics import RouteMetrics
from api.collector.producer import Record, RecordTooLarge
from api.collector.ratelimit import RateLimiter
from foundation.settings import SITE_ID_PATTERN, Settings
from operators.geo import UNKNOWN_COUNTRY, CountryLookup
from operators.schema_rules import UUID_RE
from operators.user_agent import UserAgentClassifier

GZIP_MAGIC = b"\x1f\x8b"
# Fields that would carry who the visitor is; a browser's values for them are dropped.
NEVER_WRITTEN = ("ip", "ua")
# Distinct user agents whose device type is remembered: a few thousand cover real
# traffic, and a client rotating made-up ones cannot grow the cache beyond this.
UA_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class ChunkLimits:
    """The replay route's limits (the collector_replay_* settings)."""

    max_body_bytes: int  # as sent
    max_chunk_bytes: int  # decompressed
    max_events: int
    site_allowlist: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> ChunkLimits:
        return cls(
            max_body_bytes=settings.collector_replay_max_body_bytes,
            max_chunk_bytes=settings.collector_replay_max_chunk_bytes,
            max_events=settings.collector_replay_max_events,
            site_allowlist=frozenset(settings.site_allowlist),
        )


def chunk_json(body: bytes, content_encoding: str | None, limits: ChunkLimits) -> bytes:
    """The chunk's JSON text: the body, decompressed when it is gzip (by header or by its
    first two bytes); 413 past ``max_chunk_bytes``, 400 for broken gzip."""
    if is_gzip(content_encoding) or body[:2] == GZIP_MAGIC:
        return gunzip_bounded(body, limits.max_chunk_bytes)
    if len(body) > limits.max_chunk_bytes:
        raise too_large(limits.max_chunk_bytes, decompressed=True)
    return body


def parse_chunk(text: bytes, limits: ChunkLimits) -> dict[str, Any]:
    """The chunk, after the envelope checks (each failure is a 400 with its reason)."""
    try:
        chunk = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(chunk, dict):
        raise EnvelopeError(400, "not_an_object", "the body must be a JSON object: one chunk")
    site_id = chunk.get("site_id")
    if not isinstance(site_id, str):
        raise EnvelopeError(400, "missing_site_id", "the chunk has no site_id string")
    if not SITE_ID_PATTERN.fullmatch(site_id):
        raise EnvelopeError(
            400, "bad_site_id", f"site_id {site_id!r} is not a site id (1-64 of A-Za-z0-9._-)"
        )
    if limits.site_allowlist and site_id not in limits.site_allowlist:
        raise EnvelopeError(400, "site_not_allowed", f"site_id {site_id!r} is not accepted here")
    for field, code in (("session_id", "bad_session_id"), ("chunk_id", "bad_chunk_id")):
        value = chunk.get(field)
        if not isinstance(value, str) or not UUID_RE.fullmatch(value):
            raise EnvelopeError(400, code, f"{field} must be a UUID string")
    events = chunk.get("events")
    if not isinstance(events, list) or not events:
        raise EnvelopeError(400, "no_events", "events must be a non-empty array")
    if len(events) > limits.max_events:
        raise EnvelopeError(
            400,
            "too_many_events",
            f"{len(events)} events in one chunk; at most {limits.max_events}",
        )
    return chunk


class ClientFacts:
    """What the record keeps of the client: its country and its device type, never the
    address or the user agent they came from."""

    def __init__(
        self, classifier: UserAgentClassifier, countries: CountryLookup | None = None
    ) -> None:
        self.classifier = classifier
        self.countries = countries

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientFacts:
        """As the pipeline's enrich stage builds them (flows/stages.py): the bot patterns
        for the classifier, INSIGHTLITE_GEOIP_DB for countries (off when empty; a missing
        or broken database is a start-up error, GeoDatabaseError)."""
        countries = CountryLookup(settings.geoip_db) if settings.geoip_db else None
        return cls(UserAgentClassifier(settings.bot_patterns, cache_size=UA_CACHE_SIZE), countries)

    def country_code(self, ip: str) -> str:
        return self.countries.country(ip) if self.countries is not None else UNKNOWN_COUNTRY

    def device_type(self, ua: str) -> str:
        return self.classifier.classify(ua).device_type

    def bot_reason(self, ua: str) -> str | None:
        """Why the user agent is a bot, as the pipeline's bot filter says; None for people."""
        return self.classifier.classify(ua).bot_reason

    def close(self) -> None:
        if self.countries is not None:
            self.countries.close()


def to_replay_record(
    chunk: dict[str, Any], *, received_at: int, country_code: str, device_type: str
) -> Record:
    """(session id, JSON of the chunk with the collector's fields set and ``ip``/``ua``
    removed). 400 ``too_deep`` for a chunk nested deeper than JSON can be written back."""
    for field in NEVER_WRITTEN:
        chunk.pop(field, None)
    chunk["received_at"] = received_at
    chunk["country_code"] = country_code
    chunk["device_type"] = device_type
    return str(chunk["session_id"]).encode(), encode_record(chunk, "the chunk")


def _too_large_chunk(exc: RecordTooLarge) -> str:
    return f"the chunk is larger than the {exc.limit} bytes a replay record may hold"


class ReplayCollector:
    """``POST /replay``, with its clocks, limits, client facts and Kafka sink passed in."""

    def __init__(
        self,
        settings: Settings,
        sink: RecordSink,
        handling: RequestHandling,
        metrics: RouteMetrics,
        *,
        facts: ClientFacts | None = None,
        now_ms: Callable[[], int],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.handling = handling
        self.metrics = metrics
        self.facts = facts or ClientFacts.from_settings(settings)
        self.now_ms = now_ms
        self.monotonic = monotonic
        self.limits = ChunkLimits.from_settings(settings)
        # Buckets of their own, counted in chunks: replay never spends /ingest's tokens.
        self.rate_limiter = RateLimiter(
            site_rate=settings.collector_replay_site_rate,
            site_burst=settings.collector_replay_site_burst,
            ip_rate=settings.collector_replay_ip_rate,
            ip_burst=settings.collector_replay_ip_burst,
        )
        self._produce_log = ThrottledLog("/replay")

    async def post(self, request: Request) -> Response:
        return await self.handling.handle(request, self.metrics, self._replay)

    async def _replay(self, request: Request, ip: str) -> Response:
        check_media_type(request.headers.get("content-type"))
        encoding = request.headers.get("content-encoding")
        is_gzip(encoding)  # 415 for an encoding other than gzip, before reading the body
        body = await self.handling.read_body(request, self.limits.max_body_bytes)
        # From here to the record, no await: one decompressed chunk at a time per process
        # is held as Python objects, however many requests are in flight.
        chunk = parse_chunk(chunk_json(body, encoding, self.limits), self.limits)
        site_id = str(chunk["site_id"])
        ua = user_agent(request)
        bot = self.facts.bot_reason(ua)
        if bot is not None:
            # The pipeline drops bots' events by their user agent, which a recording's
            # record does not carry: so the edge drops their recordings. A 202 all the
            # same: telling a bot how it was recognised helps it hide.
            if self.metrics.filtered is not None:
                self.metrics.filtered.labels(bot).inc()
            return json_response(202, {"accepted": 0}, CORS_HEADERS)
        # Before the rate limits: a request refused here spends no tokens.
        record = to_replay_record(
            chunk,
            received_at=self.now_ms(),
            country_code=self.facts.country_code(ip),
            device_type=self.facts.device_type(ua),
        )
        del chunk, body

        refusal = self.rate_limiter.admit(rate_limit_key(ip), {site_id: 1}, self.monotonic())
        if refusal is not None:
            limit, retry_after = refusal
            return rate_limited(self.metrics, limit, retry_after, "replay chunks")

        refused = await send_records(
            self.sink,
            [record],
            self.metrics,
            self._produce_log,
            too_large_message=_too_large_chunk,
        )
        if refused is not None:
            return refused
        self.metrics.accepted.inc()
        return json_response(202, {"accepted": 1}, CORS_HEADERS)
