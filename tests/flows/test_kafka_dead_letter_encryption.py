"""The dead-letter topic on a real broker holds no payload in clear: each record keeps
its routing fields and carries the payload encrypted under its site's data key (the
system-wide key when the site id is what was wrong), which the archive's keys decrypt
to the same records as the archive's own dead-letter files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from connectors.archive import ArchiveWriter
from connectors.crypto import ENCRYPTED_FIELD, archive_cipher, open_dead_letter
from devtools.generator import GeneratorConfig, generate_records
from foundation.settings import load_settings
from tests.dates import RECENT_NOON_MS
from tests.flows.test_kafka_flow import raw_topic_with, run_kafka
from tests.kafka_fixture import read_topic

CANARY = "canary-7f3a9c"
SESSION = "0b7e8e0e-6a4a-4a53-9c39-5b0e7b3c2f10"
# Rejected records that carry the canary in their payload: not JSON (site known only
# from the text), a bad URL on a known site, and a site id that is not one.
PLANTED = [
    b'{"site_id": "shop.example.com", "note": "' + CANARY.encode() + b'", broken',
    orjson.dumps(
        {
            "v": 1,
            "site_id": "shop.example.com",
            "session_id": SESSION,
            "type": "pageview",
            "url": "not a url " + CANARY,
            "ts": RECENT_NOON_MS,
        }
    ),
    orjson.dumps({"v": 1, "site_id": "bad site " + CANARY, "type": "pageview"}),
]


def _place(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["source"], record["offset"], record["stage"])


def test_the_dead_letter_topic_holds_no_clear_payload(
    kafka_broker: Any, kafka_topics: Any, tmp_path: Path
) -> None:
    records = [
        *generate_records(
            300, seed=5, config=GeneratorConfig(malformed_share=0.2), now_ms=RECENT_NOON_MS
        ),
        *PLANTED,
    ]
    bootstrap = kafka_broker.bootstrap_servers
    prefix = kafka_topics.prefix()
    settings = raw_topic_with(bootstrap, prefix, records)
    env = {
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
    }
    data_dir = tmp_path / "data"
    summary = run_kafka(data_dir, env)
    rejected = summary["rejected_total"]
    assert rejected >= len(PLANTED)
    from connectors.kafka.topics import topic_name

    messages = read_topic(bootstrap, topic_name(settings, "dead_letter"), rejected)
    raw = b"\n".join(message.value() for message in messages)
    at = raw.find(CANARY.encode())
    assert at == -1, raw[max(0, at - 300) : at + 50]
    sealed = [orjson.loads(message.value()) for message in messages]
    assert all("payload" not in r and r[ENCRYPTED_FIELD] and r["reasons"] for r in sealed)

    # The archive's keys open them, to what the archive's files hold.
    local = load_settings(data_dir=data_dir)
    cipher = archive_cipher(local)
    opened = {_place(r): open_dead_letter(cipher, r) for r in sealed}
    archived = {
        _place(r): r
        for r in ArchiveWriter(local.resolved_archive_url, cipher=cipher).read_dead_letters()
    }
    assert opened.keys() == archived.keys()
    for place, record in opened.items():
        assert {k: v for k, v in record.items() if k != "failed_at"} == {
            k: v for k, v in archived[place].items() if k != "failed_at"
        }
    with_canary = [r for r in opened.values() if CANARY in orjson.dumps(r["payload"]).decode()]
    assert len(with_canary) == len(PLANTED)
    by_session = [r for r in with_canary if r["session_id"] == SESSION]
    assert len(by_session) == 1 and by_session[0]["site_id"] == "shop.example.com"
    # A record without a valid site id used the system-wide key.
    assert (data_dir / "archive" / "keys" / "system").is_dir()
    assert (data_dir / "archive" / "keys" / "site=shop.example.com").is_dir()
