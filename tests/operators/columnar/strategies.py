"""Hypothesis strategies of raw collector records, valid and hostile, for the differential
tests of the columnar path (test_differential.py)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import strategies as st

from devtools.generator import (
    BOT_USER_AGENTS,
    HUMAN_USER_AGENTS,
    PLANTED_CARDS,
    PLANTED_EMAILS,
    PLANTED_IPS,
    PLANTED_PHONES,
    PLANTED_SECRETS,
    PLANTED_SSNS,
    SENSITIVE_PROP_KEYS,
)
from foundation.units import DAY_MS, HOUR_MS
from operators.model import RawBatch
from tests.operators.conftest import RECEIVED_AT

Event = dict[str, Any]
SITES = ("shop.example.com", "blog.example.org", "docs.example.net", "a", "Site_9.x-y")
TYPES = ("pageview", "click", "move", "scroll", "error", "custom", "identify")


class Raw:
    """JSON text put as it is in place of a value (numbers orjson cannot write, bad escapes)."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:60]!r})"


def serialize(event: Event, style: str = "orjson") -> bytes:
    """One record's bytes: orjson, ASCII-only JSON (\\u escapes) or JSON with odd spacing."""
    raws: list[bytes] = []

    def default(value: object) -> str:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"@@raw{len(raws) - 1}@@"
        raise TypeError(type(value).__name__)

    if style == "orjson":
        data = orjson.dumps(event, default=default)
    else:
        ascii_only = style == "ascii"
        spacing = (",", ":") if ascii_only else (" ,\t", " :  ")
        text = json.dumps(event, default=default, ensure_ascii=ascii_only, separators=spacing)
        data = text.encode()
    for index, raw in enumerate(raws):
        data = data.replace(f'"@@raw{index}@@"'.encode(), raw, 1)
    return data


def nested(depth: int, leaf: bytes = b"{}") -> bytes:
    """JSON objects nested ``depth`` levels deep."""
    return b'{"a":' * (depth - 1) + leaf + b"}" * (depth - 1)


PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))
UUIDS = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
PII_TEXT = st.sampled_from(
    [
        *PLANTED_EMAILS,
        *PLANTED_PHONES,
        *PLANTED_CARDS,
        *PLANTED_SECRETS,
        *PLANTED_SSNS,
        *PLANTED_IPS,
        "card 4111 1111 1111 1111 exp 12/29",
        "order 1234567890123",
        "",
        "  padded  ",
        "ünïcødé ☃ 😀",
        "line\u2028sep",
    ]
)
STRINGS = PII_TEXT | st.text(max_size=12)
NUMBERS = (
    st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([4111111111111111, 14155550132, 123456789, 12.0, -0.0])
)
KEYS = (
    st.sampled_from([*SENSITIVE_PROP_KEYS, "plan", "query", "results", "tags", "Authorization"])
    | st.sampled_from(["api_key", "jane.doe@example.com", "", "nested"])
    | st.text(max_size=6)
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=10,
)
PROPS = st.dictionaries(KEYS, JSON_VALUES, max_size=5)

_HOSTS: tuple[str, ...] = (
    "shop.example.com",
    "blog.example.org:8443",
    "bücher.example",
    "xn--bcher-kva.example",
)
_HOSTS += ("[2001:db8::1]", "user:pa55@host.example", "a@b.example@evil.example", "127.0.0.1")
_PATHS: tuple[str, ...] = (
    "",
    "/",
    "/cart",
    "/order/1234567890/confirm",
    "/reset/jane.doe@example.com",
)
_PATHS += ("/u/3f2b8c1e-1111-4222-8333-444455556666/edit", "/card/4111 1111 1111 1111")
_PATHS += ("/call/+1 (415) 555-0132", "/caf%C3%A9/%40me", "/a b/ c ", "/ümlaut/ß", "/%0A")
_QUERIES = ("", "?q=socks", "?email=jane.doe%40example.com&p=2", "?id=12345678901234567890")
URLS = st.builds(
    lambda scheme, host, path, query, fragment: scheme + host + path + query + fragment,
    st.sampled_from(("https://", "http://", "HTTPS://", "hTtP://")),
    st.sampled_from(_HOSTS),
    st.sampled_from(_PATHS) | st.text(PRINTABLE, max_size=10).map(lambda text: "/" + text),
    st.sampled_from(_QUERIES),
    st.sampled_from(("", "#top", "#4111111111111111")),
)
REFERRERS = (
    st.just("")
    | URLS
    | st.sampled_from(
        [
            "https://user:secret@r.example/path?q=1",
            "https://jane.doe@example.com@r.example/",
            "android-app://com.google.android.gm/",
            "not a url",
            "//cdn.example/x",
            "  https://r.example/ ",
        ]
    )
)
HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36"
BOTS = st.sampled_from([*BOT_USER_AGENTS, "", "Googlebot/2.1", "curl/8.5.0", HEADLESS])
USER_AGENTS = st.sampled_from(HUMAN_USER_AGENTS) | st.sampled_from(HUMAN_USER_AGENTS) | BOTS
IPS = st.sampled_from([*PLANTED_IPS, "2600:1702::1", "", "not-an-ip", "10.0.0.1"])
VISITORS = st.fixed_dictionaries(
    {
        "ip_hash": st.integers(0, 2**64 - 1),
        "country": st.sampled_from(["", "GB", "US", "ZZ", "ÜÜÜÜÜÜÜÜ"]),
        "ua_hash": st.integers(0, 2**64 - 1),
        "device": st.sampled_from(["desktop", "mobile", "tablet", "other"]),
        "bot": st.sampled_from([None, None, None, "known_bot", "headless_browser", "x" * 64]),
    }
)
CLIENTS = (
    st.fixed_dictionaries({"ip": IPS, "ua": USER_AGENTS})
    | st.fixed_dictionaries({}, optional={"ip": IPS, "ua": USER_AGENTS})
    | st.builds(lambda visitor: {"visitor": visitor}, VISITORS)
)
X = st.integers(0, 3000) | st.floats(0, 3000) | st.sampled_from([12, 12.0, 12.5, 0, -0.0, 100000])
Y = st.integers(0, 30000) | st.floats(0, 30000) | st.sampled_from([12, 12.0, 12.5, 1000000.0])
VIEWPORT = st.sampled_from([360, 800, 1280, 1440, 1920, 2560, 1, 20000]) | st.integers(1, 20000)
ERROR_MESSAGES = st.sampled_from(
    [
        "TypeError: Cannot read properties of undefined (reading 'x')",
        "ReferenceError: foo is not defined",
        "Script error.",
        "ChunkLoadError: Loading chunk 3 failed.",
        "NetworkError when attempting to fetch resource.",
        "user jane.doe@example.com not found",
    ]
)
ERRORS = st.fixed_dictionaries(
    {},
    optional={
        "message": ERROR_MESSAGES | STRINGS,
        "source": URLS,
        "line": st.integers(0, 10**6),
        "col": st.integers(0, 500),
        "stack": STRINGS,
    },
)
NAMES = st.sampled_from(["search", "download", "signup", "jane.doe@example.com", "é" * 128])
TRAITS = st.dictionaries(
    st.sampled_from(["plan", "email", "name", "password", "company"]), JSON_VALUES
)
OPTIONAL = {
    "referrer": REFERRERS,
    "dh": st.integers(0, 10**6),
    "target": st.sampled_from(["#checkout", "div.card:nth-child(2) a", "input[value=a@b.co]"]),
    "fixed": st.booleans(),
    "props": PROPS,
    "vw": VIEWPORT,
    "vh": VIEWPORT,
}


@st.composite
def events(draw: st.DrawFn) -> Event:
    """A contract-valid event of any type; sometimes too old or too far in the future."""
    kind = draw(st.sampled_from(TYPES))
    received = RECEIVED_AT + draw(st.integers(-DAY_MS, DAY_MS))
    skew = draw(st.sampled_from([0] * 8 + [7 * HOUR_MS, -2 * DAY_MS, 40 * DAY_MS]))
    edges = [-23 * HOUR_MS, -23 * HOUR_MS - 1, 3 * DAY_MS, 3 * DAY_MS + 1]  # the limits
    age = draw(st.integers(-1000, 30_000) | st.integers(0, 9) | st.sampled_from(edges))
    event: Event = {
        "v": 1,
        "event_id": draw(UUIDS),
        "site_id": draw(st.sampled_from(SITES)),
        "session_id": draw(UUIDS),
        "type": "custom" if kind == "identify" else kind,
        "ts": received - age + skew,
        "url": draw(URLS),
        "received_at": received,
    }
    if draw(st.booleans()):
        event["sent_at"] = received - draw(st.integers(0, 5000)) + skew
    event.update(draw(st.fixed_dictionaries({}, optional=OPTIONAL)))
    if kind in ("click", "move", "scroll"):
        event.update(vw=draw(VIEWPORT), vh=draw(VIEWPORT))
    if kind in ("click", "move") or draw(st.integers(0, 4)) == 0:
        event.update(x=draw(X), y=draw(Y))
    if kind == "scroll" or draw(st.integers(0, 4)) == 0:
        event["scroll_y"] = draw(Y)
    if kind == "error":
        event["error"] = draw(ERRORS)
    if kind == "custom":
        event["name"] = draw(NAMES)
    if kind == "identify":
        event["name"] = "identify"
        event["props"] = draw(TRAITS)
    event.update(draw(CLIENTS))
    return event


INTEGER_FIELDS = ("v", "ts", "sent_at", "received_at", "vw", "vh", "dh")
FIELDS: tuple[str, ...] = (
    *INTEGER_FIELDS,
    "event_id",
    "site_id",
    "session_id",
    "type",
    "url",
    "referrer",
    "x",
)
FIELDS += ("y", "scroll_y", "target", "fixed", "error", "name", "props", "ip", "ua", "visitor")
WRONG_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, False, "12", 12.5, -1, 0, [], {}, "", [1]]
)
_NUMBERS = b"1e400 -1e400 18446744073709551616 -9223372036854775809 1E2 1.0e3 -0 -0.0 1e-400"
HUGE_NUMBERS = st.sampled_from([b"1" + b"0" * 30, b"0.1e1", b"9007199254740993", *_NUMBERS.split()])
# Lone surrogates (escaped, or as CESU bytes), bad UTF-8, a valid pair, NUL, raw controls.
_ESCAPES = rb'"a\ud800b" "\udc00" "\ud83d\ude00" "\u0000" "\u00e9\u0041" "\u0085"'
BAD_STRINGS = st.sampled_from(
    [*_ESCAPES.split(), b'"\xed\xa0\x80"', b'"\xff"', b'"a\nb"', b'"tab\tin"']
)
UNKNOWN_KEYS = st.sampled_from(["foo", "_offset", "device_type", "error_class", "V", "Type"])
BAD_VISITORS: st.SearchStrategy[Any] = (
    VISITORS.map(lambda v: {**v, "extra": 1})
    | VISITORS.map(lambda v: {k: x for k, x in v.items() if k != "bot"})
    | VISITORS.map(lambda v: {**v, "device": "phone"})
    | VISITORS.map(lambda v: {**v, "ip_hash": -1})
    | VISITORS.map(lambda v: {**v, "ua_hash": True})
    | VISITORS.map(lambda v: {**v, "ip_hash": 3.0})
    | VISITORS.map(lambda v: {**v, "bot": ""})
    | VISITORS.map(lambda v: {**v, "country": "ABCDEFGHI"})
    | VISITORS.map(lambda v: {**v, "ip_hash": Raw(b"18446744073709551616")})
    | st.sampled_from([None, [], "visitor", 1])
)
TEXT_FIELDS = st.sampled_from(["url", "referrer", "target", "name", "ua", "ip", "site_id"])


def _mutate(draw: st.DrawFn, event: Event) -> None:
    """One contract breach (or an odd but valid spelling) of the event, in place."""
    kind = draw(st.integers(0, 13))
    field = draw(st.sampled_from(FIELDS))
    if kind == 0:
        event.pop(draw(st.sampled_from([*event, "received_at"])), None)
    elif kind == 1:
        event[field] = draw(WRONG_VALUES)
    elif kind == 2:  # 3.0 for an integer: the contract accepts it
        name = draw(st.sampled_from(INTEGER_FIELDS))
        number = event.get(name)
        event[name] = float(number) if type(number) is int else 3.0
    elif kind == 3:
        name = draw(st.sampled_from(["ts", "x", "y", "vw", "vh", "scroll_y", "sent_at", "dh"]))
        event[name] = Raw(draw(HUGE_NUMBERS))
    elif kind == 4:
        event[draw(UNKNOWN_KEYS)] = draw(JSON_VALUES)
    elif kind == 5:
        name = draw(st.sampled_from(["event_id", "session_id"]))
        uuid = draw(UUIDS)
        event[name] = draw(st.sampled_from([uuid + "\n", uuid[:-1], uuid + "0", "not-a-uuid"]))
    elif kind == 6:
        event["site_id"] = draw(st.sampled_from(["my site!", "", "x" * 65, "shop\n", "ш", "a/b"]))
    elif kind == 7:
        name = draw(st.sampled_from(["url", "referrer"]))
        char = draw(st.sampled_from(["\x00", "\x1f", "\x7f", "\x85", "\x9f", "\n", "\u00a0", " "]))
        where = draw(st.sampled_from(["https://", "https://x", "https://x.example/p"]))
        event[name] = where + char + "y/"
    elif kind == 8:  # around a length limit, in characters of 1-4 bytes
        length = draw(st.sampled_from([1, 8, 9, 64, 65, 128, 129, 512, 513, 2048, 2049, 4097]))
        text = draw(st.sampled_from(["x", "é", "😀"])) * length
        name = draw(TEXT_FIELDS)
        event[name] = ("https://x.example/" + text)[:length] if name == "url" else text
    elif kind == 9:
        event["visitor"] = draw(BAD_VISITORS | VISITORS)
    elif kind == 10:
        event[draw(st.sampled_from(["props", "error"]))] = draw(
            st.sampled_from([[], "plan=pro", 1, {"a": Raw(nested(draw(st.integers(1, 250))))}])
        )
    elif kind == 11:
        event["error"] = {"message": draw(WRONG_VALUES), "line": draw(WRONG_VALUES)}
    elif kind == 12:
        event[draw(TEXT_FIELDS)] = Raw(draw(BAD_STRINGS))
    else:
        event["props"] = {"dom": draw(st.sampled_from(["x", "é"])) * draw(st.integers(0, 40_000))}


def _break_bytes(draw: st.DrawFn, data: bytes, event: Event) -> bytes:
    """Bytes that no longer hold the event as one JSON object (or hold a duplicated key)."""
    kind = draw(st.integers(0, 8))
    if kind == 0:
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == 1:
        return data + draw(st.sampled_from([b" ", b"\n", b"x", b"}", b",", b"\x00"]))
    if kind == 2:
        return draw(st.sampled_from([b"\xef\xbb\xbf", b" \t\r\n", b"\xff\xfe"])) + data
    if kind == 3:
        return b"[" + data + b"]"
    if kind == 4:
        return data[:-1] + b",}"
    if kind == 5:
        return draw(st.sampled_from([b"", b"null", b"42", b'"click"', b"[]", b"true", b"{}"]))
    if kind == 6:
        return draw(st.sampled_from([b"NaN", b"{'v': 1}", b'{"v":1', b"\x80\x81"]))
    # A key twice: the value sent first or last wins, depending on the parser.
    key = orjson.dumps(draw(st.sampled_from([*event, "x"])))
    value = serialize({"v": draw(JSON_VALUES | st.sampled_from([1, 120, "shop.example.com"]))})
    pair = key + b":" + value[5:-1]
    return b"{" + pair + b"," + data[1:] if kind == 7 else data[:-1] + b"," + pair + b"}"


@st.composite
def hostile_records(draw: st.DrawFn) -> bytes:
    """An event with 1-3 breaches, maybe spelt oddly, maybe not even JSON any more."""
    event = draw(events())
    for _ in range(draw(st.integers(1, 3))):
        _mutate(draw, event)
    data = serialize(event, draw(st.sampled_from(["orjson", "orjson", "ascii", "spaced"])))
    if draw(st.integers(0, 3)) == 0:
        data = _break_bytes(draw, data, event)
    return data


VALID_RECORDS = st.builds(serialize, events(), st.sampled_from(["orjson", "ascii", "spaced"]))
MIXED_RECORDS = st.one_of(VALID_RECORDS, VALID_RECORDS, hostile_records())


@st.composite
def raw_batches(draw: st.DrawFn, records: st.SearchStrategy[bytes], max_size: int = 40) -> RawBatch:
    """1-``max_size`` records; sometimes non-contiguous offsets and unreadable records."""
    data = draw(st.lists(records, min_size=1, max_size=max_size))
    first = draw(st.integers(0, 10**12))
    offsets = None
    if draw(st.booleans()):
        gaps = draw(st.lists(st.integers(1, 5), min_size=len(data), max_size=len(data)))
        offsets = [first + sum(gaps[: i + 1]) - gaps[0] for i in range(len(data))]
    errors = draw(
        st.none() | st.lists(st.tuples(st.integers(0, 10**12), st.text(max_size=300)), max_size=3)
    )
    return RawBatch("t", first, data, offsets, errors)
