"""The minimum crowd (k-anonymity) of the query API's aggregates.

A heatmap cell, scroll-depth row, breakdown row or error group backed by fewer than
``k`` distinct sessions is suppressed: it never leaves the query layer. Every answer
says how much was held back in ``suppressed``. The distinct sessions are exact
(``uniqExact`` over session ids, or ``uniqExactMerge`` of the heatmap table's
``sessions`` state), and a session inserted twice is one member of a set, so a replay
can never lift a row over ``k``.

The threshold is applied in SQL: a read's grouped rows carry their ``crowd``; the
rows shown are those with ``crowd >= k``, and one more query over the same groups
counts the others.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

# The bound parameter every crowd condition uses.
MIN_CROWD_PARAM: Final = "{min_crowd:UInt32}"


class Suppressed(BaseModel):
    """What an answer holds back because fewer than ``min_crowd`` sessions back it."""

    model_config = ConfigDict(frozen=True)

    min_crowd: int = Field(
        default=1, description="The k that applied: fewest distinct sessions a row needs."
    )
    rows: int = Field(default=0, description="Rows (cells, groups) held back.")
    sessions: int = Field(
        default=0,
        description="Sum of the distinct sessions of the rows held back (a session "
        "behind two held-back rows counts in both).",
    )
    interactions: int = Field(
        default=0,
        description="Interactions (heatmap counts, page views, occurrences) of the rows held back.",
    )


def shown_sql(grouped: str, order_limit: str = "") -> str:
    """The rows of ``grouped`` (a query with a ``crowd`` column) that reach the crowd."""
    return f"SELECT * FROM ({grouped}) WHERE crowd >= {MIN_CROWD_PARAM} {order_limit}".rstrip()


def suppressed_sql(grouped: str, interactions: str) -> str:
    """One row: how many of ``grouped``'s rows fall short of the crowd, their sessions
    and the sum of their ``interactions`` column."""
    return (
        "SELECT count(), sum(crowd), sum(" + interactions + ") "
        f"FROM ({grouped}) WHERE crowd < {MIN_CROWD_PARAM}"
    )


def suppressed_from(min_crowd: int, row: tuple[object, ...] | None) -> Suppressed:
    """The Suppressed of a :func:`suppressed_sql` answer row."""
    if row is None:
        return Suppressed(min_crowd=min_crowd)
    count, sessions, interactions = (int(value or 0) for value in row)  # type: ignore[call-overload]
    return Suppressed(min_crowd=min_crowd, rows=count, sessions=sessions, interactions=interactions)
