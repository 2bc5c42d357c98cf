"""A recent, fixed time of day for tests whose data reaches ClickHouse.

The tables' TTLs count from the real clock (13 months for events and sessions, the
replay retention for recordings), so data dated long ago can be dropped by a
background merge in the middle of a test. Noon UTC of the day before the run keeps
the generated traffic's hours as they were, and stays the same for the whole run.
"""

from __future__ import annotations

import time

DAY_MS = 86_400_000
RECENT_NOON_MS = (int(time.time() * 1000) // DAY_MS - 1) * DAY_MS + DAY_MS // 2
