"""No client IP or user agent leaves the collector, and destroyed keys take the visitor
hashes with them: a real collector, a real broker, the real pipeline, ClickHouse."""

from __future__ import annotations

import hashlib
import ipaddress
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from starlette.testclient import TestClient

from api.collector.app import create_app
from connectors.kafka.topics import create_topics
from connectors.visitor_keys.directory import DirectoryKeyStore
from foundation.settings import load_settings
from foundation.units import DAY_MS, HOUR_MS
from tests.e2e.cli import query_json
from tests.flows.test_kafka_flow import run_kafka
from tests.kafka_fixture import read_topic, topic_size

CLIENT_IPS = ["81.2.69.160", "89.160.20.112", "2a02:cf40::1", "2001:db8:85a3::8a2e:370:7334"]
MARKER = "Visitor-Privacy-Marker"
AGENTS = [
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {MARKER}/1 Chrome/131.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) {MARKER}/2 Mobile/15E148",
    f"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) {MARKER}/3 Gecko/20100101 Firefox/133.0",
]
SITES = ["shop.example.com", "blog.example.org"]
CLICK = {"x": 5, "y": 6, "vw": 1280, "vh": 800, "target": "#buy"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def textual_forms(ip: str) -> set[str]:
    """Every way an address could be written down: as given, compressed, exploded,
    IPv4-mapped, as its integer, as hex of its bytes."""
    address = ipaddress.ip_address(ip)
    forms = {ip, str(address), address.exploded, str(int(address)), address.packed.hex()}
    if isinstance(address, ipaddress.IPv4Address):
        forms |= {f"::ffff:{address}", str(ipaddress.IPv6Address(f"::ffff:{address}"))}
    return forms


def event(site: str, session: str, kind: str = "pageview") -> dict[str, Any]:
    now = time.time_ns() // 1_000_000
    return {
        "v": 1,
        "event_id": str(uuid.uuid4()),
        "site_id": site,
        "session_id": session,
        "type": kind,
        "ts": now,
        "url": f"https://{site}/pricing",
    }


def visitor_hash(key: bytes, site: str, ip: str) -> int:
    digest = hashlib.blake2b(f"{site}\0{ip}".encode(), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "little")


def test_no_ip_or_ua_on_any_topic_and_no_hash_survives_its_key(
    kafka_broker: Any, kafka_topics: Any, tmp_path: Path
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    prefix = kafka_topics.prefix()
    keys_dir = tmp_path / "visitor-keys"
    settings = load_settings(
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix=prefix,
        kafka_partitions=2,
        data_dir=str(tmp_path / "collector"),
        visitor_key_store=str(keys_dir),
    )
    create_topics(settings)
    app = create_app(settings)
    sent = 0
    for index, ip in enumerate(CLIENT_IPS):
        # Synchronous on purpose: the dashboard tests keep a sync Playwright (and so a
        # running event loop) open in this thread for the whole session.
        with TestClient(app, base_url="http://c.test", client=(ip, 40_000 + index)) as client:
            for agent in AGENTS:
                session = str(uuid.uuid4())
                batch = [event(site, session) for site in SITES]
                batch.append(event(SITES[0], session, "click") | CLICK)
                # A browser's own ip/ua are dropped, never believed nor written.
                batch.append(event(SITES[1], session) | {"ip": ip, "ua": agent})
                response = client.post("/ingest", json=batch, headers={"User-Agent": agent})
                assert response.status_code == 202, response.text
                sent += len(batch)
    app.state.collector.sink.close(timeout=10)
    app.state.replay.sink.close(timeout=10)

    env = {
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
        "INSIGHTLITE_VISITOR_KEY_STORE": str(keys_dir),
    }
    summary = run_kafka(tmp_path / "pipeline", env)
    assert summary["events_in"] == sent and summary["accepted"] == sent, summary["rejected"]

    # Every topic of the deployment, read back from the broker.
    topics = sorted(
        name
        for name in AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
        if name.startswith(prefix)
    )
    assert any(name.endswith("raw_events") for name in topics)
    assert any(name.endswith("processed_events") for name in topics)
    texts: dict[str, str] = {}
    for name in topics:
        size = topic_size(bootstrap, name)
        messages = read_topic(bootstrap, name, size) if size else []
        texts[name] = "\n".join(
            (m.key() or b"").decode("utf-8", "replace") + " " + (m.value() or b"").decode()
            for m in messages
        )
    assert texts[f"{prefix}raw_events"].count('"visitor"') == sent
    forms = {form for ip in CLIENT_IPS for form in textual_forms(ip)}
    for name, text in texts.items():
        assert not [form for form in forms if form in text], name
        assert MARKER not in text, name
        assert '"ua"' not in text and '"ip"' not in text, name

    # The stored hashes are the keyed hashes of today's key...
    rows = query_json(tmp_path / "pipeline", "SELECT DISTINCT site_id, ip_hash FROM events FINAL")
    stored = {(row["site_id"], int(row["ip_hash"])) for row in rows}
    store = DirectoryKeyStore(keys_dir, 48, lambda size: b"\0" * size)
    days = store.days()
    assert days, "the collector created no key"
    reproduced = {
        (site, visitor_hash(store.get_or_create(day), site, ip))
        for day in days
        for site in SITES
        for ip in CLIENT_IPS
    }
    assert stored <= reproduced and len(stored) == len(SITES) * len(CLIENT_IPS)

    # ...until the keys are destroyed: then nothing left on the machine reproduces one.
    assert store.sweep(max(days) * DAY_MS + 48 * HOUR_MS) == days
    leftovers = [
        path.read_bytes()
        for path in tmp_path.rglob("*")
        if path.is_file() and (path.suffix in (".key", ".secret") or path.stat().st_size == 32)
    ]
    candidates = {
        (site, visitor_hash(key, site, ip))
        for key in leftovers
        if len(key) == 32
        for site in SITES
        for ip in CLIENT_IPS
    }
    assert not stored & candidates
    assert not list(keys_dir.iterdir())
