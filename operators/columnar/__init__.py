"""The columnar hot path: typed Arrow batches between the stateless stages.

    raw records ─ decode (msgspec, every contract rule a typed struct can hold)
                 ├─ rows it refuses ─ the per-row validator (operators/validate.py):
                 │                    accepted rows rejoin, rejects carry every reason
                 └─ DECODED table ─ visitors (per distinct client) ─ ENRICHED table
                                  ─ anonymize (per distinct URL, text; per row only
                                    for props/error JSON) ─ ANONYMIZED table

The per-row operators (validate, bot_filter, enrich, anonymize) stay as the reference
implementation: tests/operators/columnar/ feeds generated and hostile records to both
and requires identical rows, dead letters and reasons.
"""
