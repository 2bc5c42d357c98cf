"""Compile a contract's JSON Schema into one fast check function.

The JSON Schema file is the single source of truth for the contract: required
fields, types, enums, patterns, bounds and the per-type requirements. A
general JSON Schema validator costs tens of microseconds per event and stops
at the first error; like fastjsonschema, this generates Python source for
exactly the keywords the contracts use, but the generated function
accumulates every failure. Tests check that it agrees with the reference
`jsonschema` validator, for the event contract and the replay chunk contract.

Arrays (`minItems`, `maxItems`, `items`) and closed objects
(`additionalProperties: false`, nested `required`) are what the replay chunk
contract adds. The failures of an array's items are summarised: one reason per
distinct failure with how many items had it and the first one's index, so a
chunk of 20,000 bad events gives a few reasons, not 20,000.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from foundation.contract import load_event_schema
from operators.model import Reason

# \Z, not $: Python's $ also matches before a trailing newline, and a UUID followed by
# a newline must be refused here, not by ClickHouse.
UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
)

# Reason codes, counted by the metrics and the run summary.
SOURCE_ERROR = "source_error"
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
TOO_LARGE = "too_large"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
BAD_UUID = "bad_uuid"
UNKNOWN_TYPE = "unknown_type"
UNSUPPORTED_VERSION = "unsupported_version"
BAD_URL = "bad_url"
BAD_SITE_ID = "bad_site_id"
CONTROL_CHARACTER = "control_character"
OUT_OF_BOUNDS = "out_of_bounds"
TOO_LONG = "too_long"
UNKNOWN_SITE = "unknown_site"
TOO_OLD = "too_old"
TOO_FAR_IN_FUTURE = "too_far_in_future"
UNKNOWN_FIELD = "unknown_field"
NO_EVENTS = "no_events"
TOO_MANY_EVENTS = "too_many_events"

# Fields whose enum or pattern failure has a more telling code than the default.
ENUM_CODES = {"type": UNKNOWN_TYPE, "v": UNSUPPORTED_VERSION}
PATTERN_CODES = {"url": BAD_URL, "site_id": BAD_SITE_ID, "referrer": CONTROL_CHARACTER}
# Bound failures with a more telling code than out_of_bounds: an rrweb event type
# outside 0..6 is a type this contract does not know.
BOUND_CODES = {"events[].type": UNKNOWN_TYPE}
# Array length failures, by array (the collector refuses the same with these codes).
MIN_ITEMS_CODES = {"events": NO_EVENTS}
MAX_ITEMS_CODES = {"events": TOO_MANY_EVENTS}
# Distinct item failures reported per array before only new codes are added.
MAX_ITEM_REASONS = 16
PATTERN_DETAILS = {
    "url": "url: not an absolute http(s) URL free of control characters",
    "site_id": "site_id: not 1-64 of A-Z a-z 0-9 . _ -",
    "referrer": "referrer: contains control characters",
}

TYPE_TESTS = {
    "string": "type({v}) is str",
    # bool is an int in Python but not in JSON; 3.0 is an integer in JSON.
    "integer": "(type({v}) is int or (type({v}) is float and {v}.is_integer()))",
    "number": "(type({v}) is int or type({v}) is float)",
    "boolean": "type({v}) is bool",
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
}

EventCheck = Callable[[dict[str, Any]], list[Reason]]
ItemCheck = Callable[[Any], list[Reason]]


def item_reasons(items: list[Any], check: ItemCheck) -> list[Reason]:
    """The failures of an array's items, one reason per distinct failure.

    Each detail says how many items failed that way and where the first one is.
    Past `MAX_ITEM_REASONS` distinct failures only failures of a new code are
    kept, so every code is still reported and the list stays short.
    """
    found: dict[Reason, list[int]] = {}  # reason -> [count, first index]
    codes: set[str] = set()
    for index, item in enumerate(items):
        for reason in check(item):
            seen = found.get(reason)
            if seen is not None:
                seen[0] += 1
            elif len(found) < MAX_ITEM_REASONS or reason.code not in codes:
                found[reason] = [1, index]
                codes.add(reason.code)
    total = len(items)
    return [
        Reason(reason.code, f"{reason.detail} ({count} of {total} items, first at index {first})")
        for reason, (count, first) in found.items()
    ]


def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern (ECMA-262 syntax) as a Python regex with the same meaning.

    In ECMA-262 without the multiline flag, ``$`` matches only at the very end of the
    text; in Python it also matches before a final newline, so ``"site\\n"`` would pass
    ``^[a-z]+$``. Every ``$`` outside a character class becomes ``\\Z``. JSON Schema
    patterns are not anchored: call ``.search`` on the result.
    """
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append("\\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def load_contract_schema() -> dict[str, Any]:
    """The event contract v1 as shipped in the package."""
    return load_event_schema()


class _Generator:
    def __init__(self) -> None:
        self.lines: list[str] = []
        # Checks of array items, as functions defined before `check`.
        self.functions: list[str] = []
        self.constants: dict[str, Any] = {}
        self._counter = 0

    def constant(self, value: Any) -> str:
        self._counter += 1
        name = f"_c{self._counter}"
        self.constants[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def property(
        self, name: str, spec: dict[str, Any], var: str, indent: int, extra: str = ""
    ) -> None:
        """Checks of one present value `var`: an if/elif chain, first failure wins."""
        if spec["type"] not in TYPE_TESTS:
            raise ValueError(f"schema property {name!r}: unsupported type {spec['type']!r}")
        wrong = self.constant(Reason(WRONG_TYPE, f"{name}: expected {spec['type']}"))
        self.emit(indent, f"if not {TYPE_TESTS[spec['type']].format(v=var)}: add({wrong})")
        if "enum" in spec:
            allowed = self.constant(frozenset(spec["enum"]))
            code = repr(ENUM_CODES.get(name, OUT_OF_BOUNDS))
            self.emit(
                indent,
                f"elif {var} not in {allowed}: "
                f"add(Reason({code}, {name!r} + ': ' + repr(str({var})[:40]) + ' not allowed'))",
            )
        if spec.get("format") == "uuid":
            bad = self.constant(Reason(BAD_UUID, name))
            self.emit(indent, f"elif not uuid_match({var}): add({bad})")
        if "pattern" in spec:
            pattern = self.constant(ecma_pattern(spec["pattern"]).search)
            detail = PATTERN_DETAILS.get(name, f"{name}: does not match the contract")
            bad = self.constant(Reason(PATTERN_CODES.get(name, WRONG_TYPE), detail))
            self.emit(indent, f"elif not {pattern}({var}): add({bad})")
        for keyword, op, word in (("minimum", "<", "below"), ("maximum", ">", "above")):
            if keyword in spec:
                code = BOUND_CODES.get(name, OUT_OF_BOUNDS)
                bad = self.constant(Reason(code, f"{name}: {word} {spec[keyword]}"))
                self.emit(indent, f"elif {var} {op} {spec[keyword]!r}: add({bad})")
        if "maxLength" in spec:
            bad = self.constant(Reason(TOO_LONG, f"{name}: longer than {spec['maxLength']}"))
            self.emit(indent, f"elif len({var}) > {spec['maxLength']}: add({bad})")
        if "minLength" in spec:
            bad = self.constant(Reason(WRONG_TYPE, f"{name}: shorter than {spec['minLength']}"))
            self.emit(indent, f"elif len({var}) < {spec['minLength']}: add({bad})")
        for keyword, op, codes in (
            ("minItems", "<", MIN_ITEMS_CODES),
            ("maxItems", ">", MAX_ITEMS_CODES),
        ):
            if keyword in spec:
                word = "fewer" if op == "<" else "more"
                bad = self.constant(
                    Reason(
                        codes.get(name, OUT_OF_BOUNDS), f"{name}: {word} than {spec[keyword]} items"
                    )
                )
                self.emit(indent, f"elif len({var}) {op} {spec[keyword]}: add({bad})")
        if extra:
            self.emit(indent, extra)
        if spec.get("properties"):
            self.emit(indent, "else:")
            required = set(spec.get("required", ()))
            for sub, sub_spec in spec["properties"].items():
                sub_var = f"{var}_{sub}"
                self.emit(indent + 1, f"{sub_var} = {var}.get({sub!r}, MISSING)")
                self.emit(indent + 1, f"if {sub_var} is not MISSING:")
                self.property(f"{name}.{sub}", sub_spec, sub_var, indent + 2)
                if sub in required:
                    missing = self.constant(Reason(MISSING_FIELD, f"{name}.{sub}"))
                    self.emit(indent + 1, f"else: add({missing})")
            for sub in sorted(required - set(spec["properties"])):
                missing = self.constant(Reason(MISSING_FIELD, f"{name}.{sub}"))
                self.emit(indent + 1, f"if {sub!r} not in {var}: add({missing})")
            if spec.get("additionalProperties") is False:
                self.unknown_fields(name, spec, var, indent + 1)
        elif "items" in spec:
            check = self.item_function(f"{name}[]", spec["items"])
            self.emit(indent, "else:")
            self.emit(
                indent + 1, f"for item_reason in item_reasons({var}, {check}): add(item_reason)"
            )

    def item_function(self, name: str, spec: dict[str, Any]) -> str:
        """Define `_itemsN(item) -> [Reason, ...]` checking one array item; its name."""
        self._counter += 1
        function = f"_items{self._counter}"
        outer, self.lines = self.lines, []
        self.emit(0, f"def {function}(item):")
        self.emit(1, "reasons = []")
        self.emit(1, "add = reasons.append")
        self.property(name, spec, "item", 1)
        self.emit(1, "return reasons")
        self.functions.extend(self.lines)
        self.lines = outer
        return function

    def unknown_fields(self, name: str, spec: dict[str, Any], var: str, indent: int) -> None:
        """One reason naming (a few of) the fields of `var` the schema does not allow."""
        known = self.constant(frozenset(spec.get("properties", ())))
        self.emit(indent, f"unknown = [key for key in {var} if key not in {known}]")
        self.emit(indent, f"if unknown: add(unknown_fields_reason({name!r}, unknown))")


def unknown_fields_reason(name: str, unknown: list[Any]) -> Reason:
    """`unknown_field`, naming the first few fields (cut short: they come from the client)."""
    shown = ", ".join(repr(str(key)[:40]) for key in unknown[:5])
    prefix = f"{name}: " if name else ""
    return Reason(UNKNOWN_FIELD, f"{prefix}{len(unknown)} field(s) not in the contract: {shown}")


def per_type_requirements(schema: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The fields each event type requires besides the common ones (the schema's
    ``allOf`` if/then rules on ``type``)."""
    needs: dict[str, list[str]] = {}
    for rule in schema.get("allOf", []):
        for event_type in rule["if"]["properties"]["type"]["enum"]:
            needs.setdefault(event_type, []).extend(rule["then"]["required"])
    return {event_type: tuple(names) for event_type, names in needs.items()}


def compile_contract(
    schema: dict[str, Any],
    *,
    extra_required: Collection[str] = (),
    site_allowlist: Collection[str] = (),
) -> EventCheck:
    """Generate `check(event) -> [Reason, ...]` for the schema (empty list: valid)."""
    gen = _Generator()
    required = set(schema["required"]) | set(extra_required)
    gen.emit(0, "def check(event):")
    gen.emit(1, "reasons = []")
    gen.emit(1, "add = reasons.append")
    gen.emit(1, "get = event.get")
    for name, spec in schema["properties"].items():
        var = f"f_{name}"
        gen.emit(1, f"{var} = get({name!r}, MISSING)")
        gen.emit(1, f"if {var} is not MISSING:")
        extra = ""
        if name == "site_id" and site_allowlist:
            allow = gen.constant(frozenset(site_allowlist))
            extra = f"elif {var} not in {allow}: add(Reason({UNKNOWN_SITE!r}, {var}))"
        gen.property(name, spec, var, 2, extra)
        if name in required:
            gen.emit(1, f"else: add({gen.constant(Reason(MISSING_FIELD, name))})")
    for name in sorted(required - set(schema["properties"])):
        gen.emit(1, f"if {name!r} not in event: add({gen.constant(Reason(MISSING_FIELD, name))})")
    if schema.get("additionalProperties") is False:
        gen.unknown_fields("", schema, "event", 1)
    by_type = per_type_requirements(schema)
    if by_type:
        gen.emit(1, "needs = NEEDS.get(f_type) if type(f_type) is str else None")
        gen.emit(1, "if needs:")
        gen.emit(2, "for name, reason in needs:")
        gen.emit(3, "if name not in event: add(reason)")
    gen.emit(1, "return reasons")
    needs = {
        event_type: tuple(
            (name, Reason(MISSING_FIELD, f"{name} (required for {event_type})")) for name in names
        )
        for event_type, names in by_type.items()
    }
    namespace: dict[str, Any] = {
        "MISSING": object(),
        "Reason": Reason,
        "uuid_match": UUID_RE.fullmatch,
        "NEEDS": needs,
        "item_reasons": item_reasons,
        "unknown_fields_reason": unknown_fields_reason,
        **gen.constants,
    }
    source = "\n".join(gen.functions + gen.lines)
    exec(compile(source, "<event-contract>", "exec"), namespace)
    check: EventCheck = namespace["check"]
    check.__doc__ = source
    return check
