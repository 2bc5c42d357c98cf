"""The daily visitor-key stores: a directory and a real Redis server."""

from __future__ import annotations

import itertools
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from connectors.visitor_keys import DailyKeys, KeyStoreUnavailable, VisitorKeyStore
from connectors.visitor_keys.directory import DirectoryKeyStore
from connectors.visitor_keys.redis_store import KEY_PREFIX, RedisKeyStore
from devtools.local_kafka import free_port
from foundation.units import DAY_MS, HOUR_MS

pytest_plugins = ["tests.api.redis_fixture"]

DAY = 20_400  # a UTC day, days since the epoch
NOON = DAY * DAY_MS + 12 * HOUR_MS


def counting_random() -> Callable[[int], bytes]:
    """Randomness passed in: every call gives different bytes, so two creations differ."""
    counter = itertools.count(1)
    return lambda size: next(counter).to_bytes(4, "big") * (size // 4)


StoreFactory = Callable[[], VisitorKeyStore]


@pytest.fixture(params=["directory", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "directory":
        return lambda: DirectoryKeyStore(tmp_path / "keys", 48, counting_random())
    url = request.getfixturevalue("redis_url")
    return lambda: RedisKeyStore(url, 48, counting_random())


def test_two_stores_racing_agree_on_one_key(make_store: StoreFactory) -> None:
    stores = [make_store() for _ in range(8)]
    # Each store's randomness starts at the same value: give them distinct ones.
    for index, store in enumerate(stores):
        store.random_bytes = lambda size, i=index: bytes([i + 1]) * size  # type: ignore[attr-defined]
    found: list[bytes] = []
    barrier = threading.Barrier(len(stores))

    def create(store: VisitorKeyStore) -> None:
        barrier.wait()
        found.append(store.get_or_create(DAY))

    threads = [threading.Thread(target=create, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == len(stores) and len(set(found)) == 1
    assert len(found[0]) == 32
    assert make_store().get_or_create(DAY) == found[0]


def test_keys_are_created_ahead_and_swept_by_the_clock(make_store: StoreFactory) -> None:
    store = make_store()
    now = [NOON]
    keys = DailyKeys(store, lambda: now[0])
    keys.ensure_ahead()
    assert store.days() == [DAY, DAY + 1]
    today, tomorrow = store.get_or_create(DAY), store.get_or_create(DAY + 1)
    assert today != tomorrow
    # The key of DAY lives until its start + 48 h: not a millisecond longer.
    now[0] = DAY * DAY_MS + 48 * HOUR_MS - 1
    assert keys.sweep() == []
    now[0] += 1
    assert keys.sweep() == [DAY]
    assert store.days() == [DAY + 1]
    assert keys.key(DAY + 1) == tomorrow
    # A day asked for again gets a new key: the old one is gone for good.
    assert store.get_or_create(DAY) != today


def test_the_cache_holds_only_todays_key(make_store: StoreFactory) -> None:
    store = make_store()
    now = [NOON]
    keys = DailyKeys(store, lambda: now[0])
    key = keys.key(DAY)
    assert keys.cached(DAY)
    keys.key(DAY - 1)
    assert not keys.cached(DAY - 1)
    now[0] += DAY_MS
    assert not keys.cached(DAY)
    assert keys.key(DAY) == key  # read again from the store


def test_key_files_are_private_and_created_exclusively(tmp_path: Path) -> None:
    store = DirectoryKeyStore(tmp_path / "keys", 48, os.urandom)
    key = store.get_or_create(DAY)
    path = tmp_path / "keys" / f"{DAY}.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert path.read_bytes() == key
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [f"{DAY}.key"]
    store.sweep(DAY * DAY_MS + 48 * HOUR_MS)
    assert list((tmp_path / "keys").iterdir()) == []


def test_a_truncated_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / f"{DAY}.key").write_bytes(b"short")
    with pytest.raises(KeyStoreUnavailable, match="5 bytes"):
        DirectoryKeyStore(tmp_path, 48, os.urandom).get_or_create(DAY)


def test_redis_expires_the_key_at_its_day_plus_retention(redis_url: str) -> None:
    store = RedisKeyStore(redis_url, 48, os.urandom)
    client = redis.Redis.from_url(redis_url)
    server_now_s = int(client.time()[0])
    today = server_now_s * 1000 // DAY_MS
    store.get_or_create(today)
    ttl = client.ttl(f"{KEY_PREFIX}{today}")  # EXPIRETIME needs Redis 7
    expected = (today * DAY_MS + 48 * HOUR_MS) // 1000 - server_now_s
    assert expected - 2 <= ttl <= expected
    # A day long past its retention still gets a key (an old file re-read), briefly.
    store.get_or_create(today - 10)
    assert 0 < client.ttl(f"{KEY_PREFIX}{today - 10}") <= 3600


def test_redis_unreachable_is_key_store_unavailable() -> None:
    store = RedisKeyStore(f"redis://127.0.0.1:{free_port()}/0", 48, os.urandom)
    with pytest.raises(KeyStoreUnavailable, match="Redis"):
        store.get_or_create(DAY)
    with pytest.raises(KeyStoreUnavailable):
        store.sweep(NOON)
