"""The one definition of what a read can be restricted to, shared by REST and GraphQL.

A read's arguments arrive as a query model of :mod:`api.query.models`: REST gets it
from FastAPI (the query parameters), GraphQL from :func:`query_from_arguments` (the
field's arguments). Both validate the same pydantic model, whose filter fields use the
types defined here, so a malformed path, device or country is refused with the same
message either way. :func:`resolve_filter` then makes the :class:`Filter` every read of
the query layer works from: the site checked, the day range resolved and bounded, and
each filter present or ``None``. The SQL conditions of a filter, per table, are in
:data:`EVENT_CONDITIONS`, :data:`SESSION_CONDITIONS`, :data:`SESSION_LIST_CONDITIONS`
and :data:`REPLAY_CONDITIONS`.

Adding a filter: its field type here if it needs one, a field of :class:`Filter`, its
condition in the tables below, the field on the query models that offer it, and the
argument on the GraphQL fields that offer it (strawberry reads arguments from the
resolvers' signatures).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final, Literal, Protocol, TypeVar

from pydantic import AfterValidator, BaseModel, StringConstraints

MAX_PATH_CHARS: Final = 1024
DEFAULT_RANGE_DAYS: Final = 30
# ClickHouse's Date type starts at 1970; far-future days only make pointless scans.
EARLIEST_DAY: Final = date(1970, 1, 1)
LATEST_DAY: Final = date(2105, 12, 31)

# For pydantic and FastAPI (Rust regex, where "$" is the very end); Python code uses
# _SITE_ID.fullmatch, since Python's "$" also matches before a trailing newline.
SITE_ID_REGEX = r"^[A-Za-z0-9._-]{1,64}$"
_SITE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# A page path as the pipeline stores it: starts with "/", no control characters.
PagePath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_PATH_CHARS, pattern=r"^/[^\x00-\x1f\x7f]*$"),
]
DeviceType = Literal["desktop", "mobile", "tablet", "other"]
# Stored upper case; either case is accepted.
CountryCode = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$"),
    AfterValidator(str.upper),
]


class InvalidQuery(ValueError):
    """A parameter is outside what the API serves (HTTP 422)."""


def is_site_id(value: str) -> bool:
    return _SITE_ID.fullmatch(value) is not None


def check_site(site: str) -> None:
    """InvalidQuery unless ``site`` is a site id."""
    if not isinstance(site, str) or not is_site_id(site):
        raise InvalidQuery("site is not a site id (1-64 of A-Za-z0-9._-)")


@dataclass(frozen=True)
class DayRange:
    """Inclusive UTC days, resolved and checked."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The instant after the last day (exclusive bound)."""
        following = self.last + timedelta(days=1)
        return datetime(following.year, following.month, following.day, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def resolve_days(
    date_from: date | None, date_to: date | None, today: date, max_days: int
) -> DayRange:
    """The request's day range with defaults applied; InvalidQuery when out of bounds."""
    last = date_to or today
    first = date_from or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise InvalidQuery(f"{name} must be between {EARLIEST_DAY} and {LATEST_DAY}")
    if first > last:
        raise InvalidQuery("from is after to")
    days = DayRange(first, last)
    if days.days > max_days:
        raise InvalidQuery(f"the date range is longer than {max_days} days")
    return days


class DatedArguments(Protocol):
    """What every query model has: the optional first and last day."""

    @property
    def date_from(self) -> date | None: ...

    @property
    def date_to(self) -> date | None: ...


@dataclass(frozen=True)
class Filter:
    """One read's restrictions, validated: the site, the days and each filter, ``None``
    when not asked for (or not offered by the read)."""

    site: str
    days: DayRange
    path: str | None = None
    device: str | None = None
    country: str | None = None
    has_errors: bool | None = None
    has_rage_clicks: bool | None = None
    # Seconds; 0, the default, means no filter.
    min_duration: int | None = None
    has_recording: bool | None = None

    def conditions(self, table: Mapping[str, str]) -> tuple[list[str], dict[str, Any]]:
        """The SQL conditions of the filters present, from ``table``, and their
        parameters (named as the filters)."""
        conditions: list[str] = []
        params: dict[str, Any] = {}
        for name, condition in table.items():
            value = getattr(self, name)
            if value is not None:
                conditions.append(condition)
                params[name] = value
        return conditions, params


_OPTIONAL_FILTERS: Final = tuple(
    field.name for field in dataclasses.fields(Filter) if field.name not in ("site", "days")
)

# Filter -> its condition on `events`.
EVENT_CONDITIONS: Final[Mapping[str, str]] = {
    "path": "url_path = {path:String}",
    "device": "device_type = {device:String}",
    "country": "country_code = {country:String}",
}
# Filter -> its condition on `sessions`: a page filter selects sessions by their entry
# page.
SESSION_CONDITIONS: Final[Mapping[str, str]] = {
    "path": "entry_path = {path:String}",
    "device": "device_type = {device:String}",
    "country": "country_code = {country:String}",
    "has_errors": "has_errors = {has_errors:Bool}",
    "has_rage_clicks": "has_rage_clicks = {has_rage_clicks:Bool}",
    "min_duration": "duration_seconds >= {min_duration:UInt32}",
}
# The session ids of a site with a kept recording: its last event after {kept_after}
# (api.query.replay_reads decides what is kept the same way).
KEPT_RECORDINGS: Final = (
    "SELECT session_id FROM {database}.session_replays WHERE site_id = {site:String} "
    "GROUP BY session_id HAVING max(end_time) > {kept_after:DateTime64(3, 'UTC')}"
)
# Filter -> its condition on `sessions` in the list of sessions, where a page filter
# selects sessions with a page view of the page: an event carrying the session's id
# between {events_from} and {events_to} (days; a session may run into the day after
# the range). A recording is matched by the session id too.
SESSION_LIST_CONDITIONS: Final[Mapping[str, str]] = {
    **{name: condition for name, condition in SESSION_CONDITIONS.items() if name != "path"},
    "path": "session_id IN (SELECT session_id FROM {database}.events "
    "PREWHERE event_type = 'pageview' WHERE site_id = {site:String} "
    "AND toDate(timestamp) >= {events_from:Date} AND toDate(timestamp) <= {events_to:Date} "
    "AND url_path = {path:String})",
    "has_recording": f"(session_id IN ({KEPT_RECORDINGS})) = {{has_recording:Bool}}",
}
# Filter -> its condition on one recording's summary (api.query.replay_reads, whose
# columns these name): a page filter selects recordings that visited the page.
REPLAY_CONDITIONS: Final[Mapping[str, str]] = {
    "path": "has(pages, {path:String})",
    "device": "device_type = {device:String}",
    "country": "country_code = {country:String}",
    "has_errors": "(error_count > 0) = {has_errors:Bool}",
    "has_rage_clicks": "(rage_click_count > 0) = {has_rage_clicks:Bool}",
    "min_duration": "duration_seconds >= {min_duration:UInt32}",
}


def resolve_filter(site: str, query: DatedArguments, *, today: date, max_range_days: int) -> Filter:
    """The filter of a read of ``site`` with ``query``: InvalidQuery for a bad site or
    day range (defaults: the 30 days ending ``today``; at most ``max_range_days``)."""
    check_site(site)
    days = resolve_days(query.date_from, query.date_to, today, max_range_days)
    present = {name: getattr(query, name, None) for name in _OPTIONAL_FILTERS}
    if not present["min_duration"]:
        present["min_duration"] = None
    return Filter(site=site, days=days, **present)


M = TypeVar("M", bound=BaseModel)


def query_from_arguments(model: type[M], **arguments: Any) -> M:
    """The query model of named arguments, validated as REST validates its parameters
    (``None`` means not given, so the model's default applies; enums give their values).
    pydantic's ValidationError when an argument is refused."""
    return model.model_validate(
        {
            key: value.value if isinstance(value, enum.Enum) else value
            for key, value in arguments.items()
            if value is not None
        }
    )
