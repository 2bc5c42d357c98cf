"""The query layer: every read the API offers, over ClickHouse, shared by REST and GraphQL.

Rules every query here follows:

- values are bound as server-side parameters (``{name:Type}``); the SQL text is built
  only from constant fragments chosen by which filters are present, never from
  request text;
- ``sessions`` is read with ``FINAL`` (a live row and the final row of one session
  collapse to the highest ``version``; filters on non-key columns apply after the
  collapse); ``events`` counts are ``uniqExact(event_id)`` per day (a redelivered event
  counts once, as with FINAL, at a quarter of the cost) and one session's events are
  read with ``FINAL``; ``heatmap_aggregates`` always through
  ``sum(interaction_count) ... GROUP BY``;
- dates are inclusive UTC days; missing ones default to the 30 days ending today (by
  the injected clock), and a range is capped at ``max_range_days``.

Definitions (also in docs/api.md):

- page views: distinct ``pageview`` events;
- visitors: distinct ``ip_hash`` among page views per UTC day, summed over the days of
  the range or bucket. The hash's key rotates daily, so one person seen on two days
  counts twice and hashes of different days cannot be joined; within a day they can;
- sessions, bounce rate (share of sessions with ``page_count <= 1``) and average
  duration come from ``sessions`` by their start time; a page filter or breakdown
  selects sessions by their entry page (the list of sessions' page filter: sessions
  with a page view of it); pages per session is page views / sessions.

ClickHouse calls are blocking; each runs in a worker thread on a client borrowed from
a small pool, so the event loop keeps serving cached answers meanwhile.

Where things are: the filter every read starts from (site, days, page, device, ...) in
:mod:`api.query.filters`; the steps every read shares in :mod:`api.query.layer_core`;
the reads by subject in :mod:`api.query.heatmap_reads`, :mod:`api.query.session_reads`,
:mod:`api.query.stats_reads`, :mod:`api.query.breakdown_reads`,
:mod:`api.query.error_reads`, :mod:`api.query.replay_reads` (recordings' summaries;
their blobs are read through :mod:`api.query.replay_archive`) and
:mod:`api.query.snapshot_reads` (the recorded chunks a heatmap's page picture can come
from).
"""

from __future__ import annotations

from api.query.breakdown_reads import BreakdownReads
from api.query.error_reads import ErrorReads
from api.query.heatmap_reads import HeatmapReads
from api.query.replay_reads import ReplayReads
from api.query.session_reads import SessionReads
from api.query.snapshot_reads import SnapshotReads
from api.query.stats_reads import StatsReads


class QueryLayer(
    HeatmapReads,
    SessionReads,
    StatsReads,
    BreakdownReads,
    ErrorReads,
    ReplayReads,
    SnapshotReads,
):
    """The reads of the API (see the module doc). Every read validates its site first."""
