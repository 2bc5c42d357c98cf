"""The collector's checks of a request's envelope, and the raw records it makes.

The collector checks only what it needs to route and bound a request: size, encoding,
JSON, an array of at most N objects, each with a ``site_id`` string (in the allow-list,
compared as whole strings, when one is set), that can be written back as JSON. Whether an
event follows the contract is the pipeline's job: a record that passes here always
reaches ``raw_events``, and a bad one becomes a dead letter with its reasons there,
rather than vanishing at the edge.
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from operators.visitor import VISITOR_FIELD, VisitorFields

# Media types a browser sends: JSON from fetch(), text/plain from navigator.sendBeacon
# with a string (which a browser may send without a CORS preflight), none from
# sendBeacon with an untyped Blob.
ACCEPTED_MEDIA_TYPES = frozenset({"application/json", "text/plain", ""})

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The deepest nesting orjson writes (its reader takes up to 1024 levels).
MAX_WRITE_DEPTH = 254


class EnvelopeError(Exception):
    """A request the collector refuses: HTTP status, a metrics-safe code, a reason for people."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class EnvelopeLimits:
    max_body_bytes: int
    max_events: int
    site_allowlist: frozenset[str] = frozenset()


def check_media_type(content_type: str | None) -> None:
    """415 unless the body is JSON, text/plain (sendBeacon) or untyped."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise EnvelopeError(
            415,
            "unsupported_media_type",
            f"Content-Type {media_type!r} is not supported: send application/json "
            "(or text/plain, as navigator.sendBeacon does)",
        )


def is_gzip(content_encoding: str | None) -> bool:
    """True for gzip, False for none/identity; 415 for any other encoding."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return False
    if encoding in ("gzip", "x-gzip"):
        return True
    raise EnvelopeError(
        415,
        "unsupported_encoding",
        f"Content-Encoding {encoding!r} is not supported: send gzip or no encoding",
    )


def too_large(max_body_bytes: int, *, decompressed: bool = False) -> EnvelopeError:
    what = "decompressed body" if decompressed else "body"
    return EnvelopeError(
        413, "too_large", f"the {what} is larger than {max_body_bytes} bytes: send smaller batches"
    )


def gunzip_bounded(body: bytes, max_bytes: int) -> bytes:
    """Decompress a gzip body, refusing (413) as soon as the output passes ``max_bytes``.

    Decompression is streamed with an output cap, so a small gzip bomb never expands
    into memory beyond the limit.
    """
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        output = decompressor.decompress(body, max_bytes + 1)
        if len(output) > max_bytes:
            raise too_large(max_bytes, decompressed=True)
        if decompressor.unconsumed_tail:
            # Output stopped at the cap with input left over: more than max_bytes.
            raise too_large(max_bytes, decompressed=True)
        output += decompressor.flush(max_bytes + 1 - len(output))
    except zlib.error as exc:
        raise EnvelopeError(400, "bad_gzip", f"the body is not valid gzip: {exc}") from None
    if len(output) > max_bytes:
        raise too_large(max_bytes, decompressed=True)
    if not decompressor.eof:
        raise EnvelopeError(400, "bad_gzip", "the gzip body is truncated")
    if decompressor.unused_data:
        raise EnvelopeError(400, "bad_gzip", "the body has data after the gzip stream")
    return output


def parse_events(body: bytes, limits: EnvelopeLimits) -> list[dict[str, Any]]:
    """The request's events, after the envelope checks (each failure is a 400 with why)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(parsed, list):
        raise EnvelopeError(
            400,
            "not_an_array",
            f"the body must be a JSON array of events, not a JSON {_json_kind(parsed)}",
        )
    if not parsed:
        raise EnvelopeError(400, "empty", "the array holds no events")
    if len(parsed) > limits.max_events:
        raise EnvelopeError(
            400,
            "too_many_events",
            f"{len(parsed)} events in one request; at most {limits.max_events}",
        )
    for index, event in enumerate(parsed):
        if not isinstance(event, dict):
            raise EnvelopeError(
                400,
                "event_not_an_object",
                f"event {index} is a JSON {_json_kind(event)}, not an object",
            )
        site_id = event.get("site_id")
        if not isinstance(site_id, str) or not site_id:
            raise EnvelopeError(400, "missing_site_id", f"event {index} has no site_id string")
        if limits.site_allowlist and site_id not in limits.site_allowlist:
            raise EnvelopeError(
                400, "site_not_allowed", f"event {index}: site_id {site_id!r} is not accepted here"
            )
    return parsed


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def encode_record(record: dict[str, Any], what: str) -> bytes:
    """``record`` as the JSON bytes written to Kafka; 400 ``too_deep`` or
    ``unencodable`` naming ``what`` when it cannot be written back."""
    try:
        return orjson.dumps(record)
    except orjson.JSONEncodeError as exc:
        # orjson reads up to 1024 levels of nesting but writes at most 254: a body
        # between the two parses, then cannot be written to Kafka.
        if "recursion" in str(exc).lower():
            raise EnvelopeError(
                400,
                "too_deep",
                f"{what} nests objects or arrays deeper than {MAX_WRITE_DEPTH} levels",
            ) from None
        raise EnvelopeError(
            400, "unencodable", f"{what} cannot be written as JSON: {exc}"
        ) from None


def to_records(
    events: Sequence[dict[str, Any]],
    *,
    visitors: Sequence[VisitorFields],
    received_at: int,
) -> list[tuple[bytes | None, bytes]]:
    """(key, value) per event: the event with its ``visitor`` fields and ``received_at``.

    Neither the client's IP nor its user agent is written: ``visitor`` holds what the
    pipeline needs of them (operators/visitor.py). ``ip``/``ua`` a browser sent are
    dropped, and ``visitor``/``received_at`` always overwritten: a browser must not choose
    the hash or the clock the pipeline trusts. The key is the session id, so one
    session's events share a partition and stay in order.
    """
    records: list[tuple[bytes | None, bytes]] = []
    for index, (event, visitor) in enumerate(zip(events, visitors, strict=True)):
        event.pop("ip", None)
        event.pop("ua", None)
        event[VISITOR_FIELD] = visitor.to_json()
        event["received_at"] = received_at
        session_id = event.get("session_id")
        key = session_id.encode() if isinstance(session_id, str) and session_id else None
        value = encode_record(event, f"event {index}")
        records.append((key, value))
    return records


def parse_networks(values: Collection[str]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    candidate = text.strip().strip('"')
    if candidate.startswith("["):  # [v6]:port
        candidate = candidate[1:].split("]", 1)[0]
    elif candidate.count(":") == 1:  # v4:port
        candidate = candidate.split(":", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _is_trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[IpNetwork]
) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


def rate_limit_key(ip: str) -> str:
    """The key a client's IP is rate-limited under: an IPv6 client by its /64.

    One IPv6 subscriber usually holds a whole /64, so keying by full address would let
    a single client rotate through 2^64 buckets.
    """
    address = _parse_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return ip


def is_trusted_peer(peer: str, trusted: Sequence[IpNetwork]) -> bool:
    """True when the connection comes from a trusted proxy (its clients are in XFF)."""
    address = _parse_address(peer)
    return address is not None and _is_trusted(address, trusted)


def client_ip(peer: str, forwarded_for: str | None, trusted: Sequence[IpNetwork]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy.

    Behind trusted proxies the ``X-Forwarded-For`` list is read from the right (each
    proxy appends the address it saw), skipping trusted proxies; the first untrusted
    address is the client. Entries to its left were written by the client itself and
    are never believed.
    """
    peer_address = _parse_address(peer)
    if not forwarded_for or peer_address is None or not _is_trusted(peer_address, trusted):
        return peer
    client = str(peer_address)
    for entry in reversed(forwarded_for.split(",")):
        address = _parse_address(entry)
        if address is None:
            # Garbage where a proxy should have written an address: stop at the last
            # address we could trust rather than guess.
            break
        client = str(address)
        if not _is_trusted(address, trusted):
            break
    return client
