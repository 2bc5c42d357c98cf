"""The replay step's second stage: mask recordings again on the server.

The browser masks before sending, but the server does not rely on it. In every
rrweb event of a chunk:

- every string, and every key of a map, goes through the pipeline's PII text
  mask (`mask_text`: emails, phones, cards, SSNs, IPs): text nodes, comments,
  attribute names and values of full snapshots and mutations, mutation texts,
  style text (a stylesheet can carry text, `content: "…"`, and URLs with query
  strings, so it is no exception), anything else a client puts in an event;
- input values become `*` repeated to their length: Input events' `text`, the
  `value` attribute of input, textarea and select elements, the text inside a
  textarea, and every `value` in a mutation's attribute changes (the element
  is not known there); `checked` and `selected` stay;
- attributes whose name looks sensitive (`data-email`, `data-token`) become
  `<redacted>`;
- page URLs (Meta `href`, the url of `insightlite:pageview` custom events)
  keep no userinfo, query string or fragment, and are masked;
- Custom and Plugin payloads get the `props` masking (`mask_json_value`);
- console logs (the Log source and the `rrweb/console` plugin) keep only their
  level.

Numbers (node ids, coordinates, times) are kept; the events, their order and
their node ids are unchanged. The walk is iterative, so any depth is fine, and
it accepts any shape: what is not where rrweb puts it is masked as plain JSON.
Masking is idempotent. Events are masked in place (the chunk's events were
decoded for this step alone).
"""

from __future__ import annotations

import re
from typing import Any, Final

from operators.model import Reason, Rejected
from operators.pii import REDACTED, is_sensitive_key, mask_json_value, mask_referrer, mask_text
from operators.replay_model import STAGE_REPLAY_MASK, ReplayBatch, ReplayChunk

# rrweb's EventType and IncrementalSource values this stage treats specially.
FULL_SNAPSHOT: Final = 2
INCREMENTAL_SNAPSHOT: Final = 3
META: Final = 4
CUSTOM: Final = 5
PLUGIN: Final = 6
SOURCE_MUTATION: Final = 0
SOURCE_INPUT: Final = 5
SOURCE_LOG: Final = 11

# Custom events the tracker's replay module adds to a recording.
PAGEVIEW_TAG: Final = "insightlite:pageview"
ERROR_TAG: Final = "insightlite:error"
PAGEVIEW_URL_KEYS: Final = ("url", "href")
CONSOLE_PLUGIN_PREFIX: Final = "rrweb/console"

INPUT_TAGS: Final = frozenset({"input", "textarea", "select"})
MASK_FAILED: Final = "mask_failed"
_QUERY_OR_FRAGMENT: Final = re.compile(r"[?#]")
_CONSOLE_LEVEL: Final = re.compile(r"[A-Za-z]{1,32}")

# What a container on the walk's stack is.
_GENERIC = 0  # any JSON: strings masked, dict keys masked
_NODE = 1  # a serialized node (flag: its parent is a textarea)
_NODES = 2  # a list of serialized nodes (flag: their parent is a textarea)
_ATTRIBUTES = 3  # an element's attributes (flag: its `value` is an input value)
_ATTRIBUTE_CHANGES = 4  # a mutation's [{id, attributes}]
_ADDS = 5  # a mutation's [{parentId, nextId, node}]
_ATTRIBUTE_CHANGE = 6  # one {id, attributes}
_ADD = 7  # one {parentId, nextId, node}

Stack = list[tuple[int, Any, bool]]

# rrweb's own field names: no PII, so the key mask skips them (they are most keys).
_RRWEB_KEY_NAMES: Final = """type timestamp data delay node initialOffset top left source
    positions x y id timeOffset texts value attributes removes adds parentId nextId previousId
    childNodes tagName textContent isStyle isSVG rootId width height href tag payload plugin text
    isChecked userTriggered pointerType class style level name publicId systemId
    compatMode needBlock isShadow isShadowHost ranges start end startOffset endOffset"""
_RRWEB_KEYS: Final = frozenset(_RRWEB_KEY_NAMES.split())


def as_int(value: object) -> int | None:
    """An integer JSON value (3 or 3.0) as an int; None for anything else, bools too."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def stars(value: object) -> object:
    """An input value as `*` of the same length; bools and null stay."""
    if value is None or type(value) is bool:
        return value
    if type(value) is str:
        return "*" * len(value)
    if type(value) is int or type(value) is float:
        return "*" * len(repr(value))
    return "*"


def mask_page_url(url: str) -> str:
    """`scheme://host/path` masked, without userinfo, query or fragment; a relative
    or unparsable value keeps what precedes its query and is masked as text."""
    end = _QUERY_OR_FRAGMENT.search(url)
    return mask_referrer(url if end is None else url[: end.start()])


def _mask_keys(mapping: dict[Any, Any]) -> None:
    """Mask the keys of `mapping` in place (several may collapse into one)."""
    renamed: list[tuple[str, str]] | None = None
    for key in mapping:
        if type(key) is str and key not in _RRWEB_KEYS:
            masked = mask_text(key)
            if masked is not key:
                renamed = renamed or []
                renamed.append((key, masked))
    for key, new_key in renamed or ():
        mapping[new_key] = mapping.pop(key)


def _mask_generic_dict(mapping: dict[Any, Any], stack: Stack, skip: tuple[str, ...] = ()) -> None:
    for key, value in mapping.items():
        if key in skip:
            continue
        kind = type(value)
        if kind is str:
            masked = mask_text(value)
            if masked is not value:
                mapping[key] = masked
        elif kind is dict or kind is list:
            stack.append((_GENERIC, value, False))
    _mask_keys(mapping)


def _mask_generic_list(items: list[Any], stack: Stack) -> None:
    for index, value in enumerate(items):
        kind = type(value)
        if kind is str:
            items[index] = mask_text(value)
        elif kind is dict or kind is list:
            stack.append((_GENERIC, value, False))


def _push_items(items: list[Any], kind: int, stack: Stack, flag: bool = False) -> None:
    """Items of a list that rrweb fills with dicts: dicts as `kind`, the rest generic."""
    for index, value in enumerate(items):
        value_kind = type(value)
        if value_kind is dict:
            stack.append((kind, value, flag))
        elif value_kind is str:
            items[index] = mask_text(value)
        elif value_kind is list:
            stack.append((_GENERIC, value, False))


Special = tuple[str, int, type, bool]


def _walk_dict(mapping: dict[Any, Any], stack: Stack, specials: tuple[Special, ...] = ()) -> None:
    """Walk `mapping`: each (key, kind, type, flag) of `specials` whose value has the type
    rrweb gives it as that kind, everything else (that value too, otherwise) as plain JSON."""
    handled: list[str] = []
    for key, kind, expected, flag in specials:
        value = mapping.get(key)
        if type(value) is expected:
            stack.append((kind, value, flag))
            handled.append(key)
    _mask_generic_dict(mapping, stack, skip=tuple(handled))


def _mask_node(node: dict[Any, Any], in_textarea: bool, stack: Stack) -> None:
    tag = node.get("tagName")
    tag = tag.lower() if type(tag) is str else ""
    text = node.get("textContent")
    if in_textarea and type(text) is str:
        node["textContent"] = stars(text)
    children: Special = ("childNodes", _NODES, list, tag == "textarea")
    attributes: Special = ("attributes", _ATTRIBUTES, dict, tag in INPUT_TAGS)
    _walk_dict(node, stack, (children, attributes))


def _mask_attributes(attributes: dict[Any, Any], value_is_input: bool, stack: Stack) -> None:
    for name, value in attributes.items():
        kind = type(value)
        if value_is_input and type(name) is str and name.lower() == "value":
            attributes[name] = stars(value)
        elif kind is str:
            if type(name) is str and is_sensitive_key(name):
                attributes[name] = REDACTED
            else:
                masked = mask_text(value)
                if masked is not value:
                    attributes[name] = masked
        elif kind is dict or kind is list:  # a style object of a mutation
            stack.append((_GENERIC, value, False))
    _mask_keys(attributes)


MUTATION_SPECIALS: Final[tuple[Special, ...]] = (
    ("attributes", _ATTRIBUTE_CHANGES, list, False),
    ("adds", _ADDS, list, False),
)
# Attribute changes name no element: any `value` in them is taken for an input value.
ATTRIBUTE_CHANGE_SPECIALS: Final[tuple[Special, ...]] = (("attributes", _ATTRIBUTES, dict, True),)
ADD_SPECIALS: Final[tuple[Special, ...]] = (("node", _NODE, dict, False),)
SNAPSHOT_SPECIALS: Final[tuple[Special, ...]] = (("node", _NODE, dict, False),)


def _mask_incremental(data: dict[Any, Any], stack: Stack) -> None:
    source = as_int(data.get("source"))
    if source == SOURCE_MUTATION:
        _walk_dict(data, stack, MUTATION_SPECIALS)
        return
    if source == SOURCE_LOG:
        _keep_level(data)
        return
    if source == SOURCE_INPUT and "text" in data:
        data["text"] = stars(data["text"])
    _mask_generic_dict(data, stack)


def console_level(level: object) -> str:
    """A console method name (`log`, `warn`, `groupCollapsed`), else `log`: a level
    that is not a plain word may hold anything."""
    if type(level) is str and _CONSOLE_LEVEL.fullmatch(level):
        return level
    return "log"


def _keep_level(log: dict[Any, Any]) -> None:
    """A console log reduced to its source and level: its arguments may hold anything."""
    kept = {key: log[key] for key in ("source", "level") if key in log}
    kept["level"] = console_level(kept.get("level"))
    log.clear()
    log.update(kept)


def _mask_custom(data: dict[Any, Any], stack: Stack) -> None:
    payload = data.get("payload")
    if data.get("tag") == PAGEVIEW_TAG and type(payload) is dict:
        for key in PAGEVIEW_URL_KEYS:
            url = payload.get(key)
            if type(url) is str:
                payload[key] = mask_page_url(url)
    if "payload" in data:
        data["payload"] = mask_json_value(payload)
    _mask_generic_dict(data, stack)


def _mask_plugin(data: dict[Any, Any], stack: Stack) -> None:
    plugin = data.get("plugin")
    payload = data.get("payload")
    if type(plugin) is str and plugin.startswith(CONSOLE_PLUGIN_PREFIX):
        level = payload.get("level") if type(payload) is dict else None
        data["payload"] = {"level": console_level(level)}
    elif "payload" in data:
        data["payload"] = mask_json_value(payload)
    _mask_generic_dict(data, stack)


def _mask_event(event: dict[Any, Any], stack: Stack) -> None:
    data = event.get("data")
    if type(data) is dict:
        event_type = as_int(event.get("type"))
        if event_type == FULL_SNAPSHOT:
            _walk_dict(data, stack, SNAPSHOT_SPECIALS)
        elif event_type == INCREMENTAL_SNAPSHOT:
            _mask_incremental(data, stack)
        elif event_type == META:
            href = data.get("href")
            if type(href) is str:
                data["href"] = mask_page_url(href)
            _mask_generic_dict(data, stack)
        elif event_type == CUSTOM:
            _mask_custom(data, stack)
        elif event_type == PLUGIN:
            _mask_plugin(data, stack)
        else:
            _mask_generic_dict(data, stack)
        _mask_generic_dict(event, stack, skip=("data",))
    else:
        _mask_generic_dict(event, stack)


def mask_events(events: list[Any]) -> None:
    """Mask a list of rrweb events in place, whatever their shape (see the module)."""
    stack: Stack = []
    for index, event in enumerate(events):
        kind = type(event)
        if kind is dict:
            _mask_event(event, stack)
        elif kind is str:
            events[index] = mask_text(event)
        elif kind is list:
            stack.append((_GENERIC, event, False))
        # Depth-first, one event at a time: the stack holds one event's open containers.
        while stack:
            what, container, flag = stack.pop()
            if what == _GENERIC:
                if type(container) is dict:
                    _mask_generic_dict(container, stack)
                else:
                    _mask_generic_list(container, stack)
            elif what == _NODE:
                _mask_node(container, flag, stack)
            elif what == _NODES:
                _push_items(container, _NODE, stack, flag)
            elif what == _ATTRIBUTES:
                _mask_attributes(container, flag, stack)
            elif what == _ATTRIBUTE_CHANGES:
                _push_items(container, _ATTRIBUTE_CHANGE, stack)
            elif what == _ADDS:
                _push_items(container, _ADD, stack)
            elif what == _ATTRIBUTE_CHANGE:
                _walk_dict(container, stack, ATTRIBUTE_CHANGE_SPECIALS)
            else:
                _walk_dict(container, stack, ADD_SPECIALS)


def mask_chunk(chunk: ReplayChunk) -> Rejected | None:
    """Mask a chunk's events in place; a `Rejected` of stage `replay_mask` if they
    cannot be walked (not a list), None when done."""
    try:
        mask_events(chunk.events)
    except Exception as exc:  # a safety net: whatever the shape, the worker goes on
        reason = Reason(MASK_FAILED, f"{type(exc).__name__}: {exc}"[:200])
        return Rejected(
            STAGE_REPLAY_MASK,
            [reason],
            chunk.payload(),
            chunk.offset,
            received_at=chunk.received_at,
            site_id=chunk.site_id,
        )
    return None


def mask_replay(batch: ReplayBatch) -> ReplayBatch:
    """The replay_mask stage: every chunk masked, or rejected when it cannot be."""
    chunks: list[ReplayChunk] = []
    rejected = list(batch.rejected)
    for chunk in batch.chunks:
        failure = mask_chunk(chunk)
        if failure is None:
            chunks.append(chunk)
        else:
            rejected.append(failure)
    return ReplayBatch(
        source=batch.source,
        first_offset=batch.first_offset,
        last_offset=batch.last_offset,
        chunks_in=batch.chunks_in,
        chunks=chunks,
        stored=list(batch.stored),
        rejected=rejected,
    )
