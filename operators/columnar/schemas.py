"""The declared Arrow schema of each stage boundary of the columnar path.

- ``DECODED``: what a raw record says once it passed the contract, with the event time
  corrected (``ts``) and its source offset; the client as the record gave it (the
  collector's derived ``visitor`` fields, or ``ip``/``ua`` of a generated file).
- ``ENRICHED``: bots dropped; every row with its visitor fields and error class, no
  ``ip`` or ``ua`` left.
- ANONYMIZED: operators/columns.ANONYMIZED_SCHEMA, the ``events`` table's columns by
  name, then the typed values the stateful stages read (the per-row path's output
  shares it).

Numbers of the optional data fields keep whether the client sent an integer or a float
(``numbers_integral``, a bit per field), because ``event_data`` repeats them as sent.
"""

from __future__ import annotations

import pyarrow as pa

# Bits of `numbers_integral`: the field was a JSON integer.
X_INTEGRAL = 1
Y_INTEGRAL = 2
SCROLL_Y_INTEGRAL = 4
# `dh` is an integer field, but the contract takes an integral float (3.0, -0.0) for
# one, which `event_data` repeats as sent: a float column with its own bit too.
DH_INTEGRAL = 8
INTEGRAL_BITS = {"x": X_INTEGRAL, "y": Y_INTEGRAL, "scroll_y": SCROLL_Y_INTEGRAL, "dh": DH_INTEGRAL}

_RECORD_FIELDS = [
    ("offset", pa.int64()),
    ("event_id", pa.string()),
    ("session_id", pa.string()),
    ("site_id", pa.string()),
    ("type", pa.string()),
    ("ts", pa.int64()),
    ("received_at", pa.int64()),
    ("url", pa.string()),
    ("referrer", pa.string()),
    ("x", pa.float64()),
    ("y", pa.float64()),
    ("scroll_y", pa.float64()),
    ("numbers_integral", pa.uint8()),
    ("dh", pa.float64()),
    ("vw", pa.int32()),
    ("vh", pa.int32()),
    ("fixed", pa.bool_()),
    ("target", pa.string()),
    ("name", pa.string()),
    # JSON text of the object fields, decoded again only for the rows that have them.
    ("error_json", pa.string()),
    ("props_json", pa.string()),
]
_VISITOR_FIELDS = [
    ("ip_hash", pa.uint64()),
    ("country", pa.string()),
    ("ua_hash", pa.uint64()),
    ("device", pa.string()),
]

DECODED = pa.schema(
    [
        *_RECORD_FIELDS,
        ("ip", pa.string()),
        ("ua", pa.string()),
        # Null when the record carries ip/ua instead of the collector's fields.
        ("has_visitor", pa.bool_()),
        *_VISITOR_FIELDS,
        ("bot", pa.string()),
    ]
)

ENRICHED = pa.schema([*_RECORD_FIELDS, *_VISITOR_FIELDS, ("error_class", pa.string())])
