"""The recordings' blob store on a local folder and on fsspec's memory filesystem."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import orjson
import pytest

from connectors.archive.destinations import FsspecDestination
from connectors.archive.replays import ReplayBlobStore
from operators.replay_blobs import blob_name, encode_blob

SESSION = "3f6c1b1e-0d7a-4a53-9a55-5d8f1f0c0a01"


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReplayBlobStore]:
    if request.param == "local":
        yield ReplayBlobStore(str(tmp_path / "archive"))
        return
    name = f"replay-store-{uuid.uuid4().hex}"
    yield ReplayBlobStore(f"memory://{name}")
    memory = fsspec.filesystem("memory")
    if memory.exists(f"/{name}"):
        memory.rm(f"/{name}", recursive=True)


def event(timestamp: int, text: str = "") -> dict[str, object]:
    return {"type": 3, "timestamp": timestamp, "data": {"source": 0, "text": text}}


def put(
    store: ReplayBlobStore,
    first_ms: int,
    events: list[dict[str, object]] | None = None,
    *,
    site: str = "shop",
    session: str = SESSION,
    seq: int = 0,
) -> str:
    """Store one chunk; its name, as the replay step would give it."""
    chunk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/{session}/{first_ms}/{seq}"))
    name = blob_name(site, session, first_ms, seq, chunk_id)
    store.write(name, encode_blob(chunk_id, seq, [event(first_ms)] if events is None else events))
    return name


def streamed(store: ReplayBlobStore, names: list[str]) -> bytes:
    return b"".join(store.stream_events(names))


def test_rewriting_a_name_leaves_one_object_with_the_new_bytes(store: ReplayBlobStore) -> None:
    name = blob_name("shop", SESSION, 1_764_590_400_000, 0, str(uuid.uuid4()))
    store.write(name, b"first")
    store.write(name, b"second, longer than the first")
    assert store.destination.list("replays") == [name]
    assert store.read(name) == b"second, longer than the first"
    # A whole-recording listing agrees: one blob, not two versions of it.
    assert store.chunk_names("shop", SESSION) == [name]


def test_chunk_names_are_in_time_order_and_of_that_session_only(store: ReplayBlobStore) -> None:
    later = put(store, 1_764_590_460_000, seq=2)
    earliest = put(store, 1_764_590_400_000, seq=0)
    middle = put(store, 1_764_590_430_000, seq=1)
    # A session id that starts with this one, a site id that starts with this one, and
    # the same session id under another site: none of them belongs to the recording.
    put(store, 1_764_590_401_000, session=f"{SESSION}0")
    put(store, 1_764_590_402_000, site="shop2")
    put(store, 1_764_590_403_000, site="other")
    # A file deeper than the session's folder is not one of its blobs.
    store.write(f"replays/site=shop/session={SESSION}/nested/0-x.json.gz", b"x")
    assert store.chunk_names("shop", SESSION) == [earliest, middle, later]
    assert store.chunk_names("shop", f"{SESSION}0") != []
    assert store.chunk_names("shop", "no-such-session") == []
    assert store.chunk_names("nowhere", SESSION) == []


def test_stream_events_concatenates_blobs_in_order(store: ReplayBlobStore) -> None:
    names = [
        put(store, 1_000_000_000_000, [event(1_000_000_000_000, "a"), event(1_000_000_000_500)]),
        put(store, 1_000_000_001_000, [event(1_000_000_001_000, 'b "quoted" ]')], seq=1),
        put(store, 1_000_000_002_000, [event(1_000_000_002_000, "c")], seq=2),
    ]
    events = orjson.loads(streamed(store, names))
    assert [item["timestamp"] for item in events] == [
        1_000_000_000_000,
        1_000_000_000_500,
        1_000_000_001_000,
        1_000_000_002_000,
    ]
    assert [item["data"]["text"] for item in events] == ["a", "", 'b "quoted" ]', "c"]
    # The order is the one of the names given: reversed names give reversed chunks.
    reversed_events = orjson.loads(streamed(store, names[::-1]))
    assert [item["data"]["text"] for item in reversed_events] == ["c", 'b "quoted" ]', "a", ""]


def test_stream_events_skips_empty_event_arrays(store: ReplayBlobStore) -> None:
    empty_first = put(store, 2_000_000_000_000, [])
    full = put(store, 2_000_000_001_000, [event(2_000_000_001_000, "x")], seq=1)
    empty_middle = put(store, 2_000_000_002_000, [], seq=2)
    last = put(store, 2_000_000_003_000, [event(2_000_000_003_000, "y")], seq=3)
    empty_last = put(store, 2_000_000_004_000, [], seq=4)
    body = streamed(store, [empty_first, full, empty_middle, last, empty_last])
    assert [item["data"]["text"] for item in orjson.loads(body)] == ["x", "y"]
    assert streamed(store, [empty_first, empty_middle]) == b"[]"
    assert streamed(store, []) == b"[]"


def test_delete_session_removes_only_that_recording(store: ReplayBlobStore) -> None:
    mine = [put(store, 1_764_590_400_000 + step, seq=step) for step in range(3)]
    neighbour = put(store, 1_764_590_400_000, session=f"{SESSION}0")
    other_site = put(store, 1_764_590_400_000, site="shop2")
    assert store.delete_session("shop", SESSION) == len(mine)
    assert store.chunk_names("shop", SESSION) == []
    assert store.destination.list("replays") == sorted([neighbour, other_site])
    assert store.delete_session("shop", SESSION) == 0


def test_delete_site_removes_every_recording_of_that_site_only(store: ReplayBlobStore) -> None:
    put(store, 1_764_590_400_000)
    put(store, 1_764_590_400_000, session=str(uuid.uuid4()))
    kept = [put(store, 1_764_590_400_000, site="shop2"), put(store, 1_764_590_400_000, site="sh")]
    assert store.delete_site("shop") == 2
    assert store.destination.list("replays") == sorted(kept)
    assert store.delete_site("shop") == 0


def test_sessions_lists_every_recording_with_its_blobs(store: ReplayBlobStore) -> None:
    assert list(store.sessions()) == []
    second = str(uuid.uuid4())
    a = [put(store, 1_764_590_400_000, seq=0), put(store, 1_764_590_401_000, seq=1)]
    b = [put(store, 1_764_590_400_000, session=second)]
    c = [put(store, 1_764_590_400_000, site="blog")]
    # Files that are not blobs of a recording are left out.
    store.write("replays/notes.txt", b"x")
    store.write("replays/site=shop/loose.json.gz", b"x")
    store.write(f"replays/site=shop/session={SESSION}/readme.txt", b"x")
    store.write(f"replays/shop/{SESSION}/0-x.json.gz", b"x")
    store.write("events/year=2025/month=12/day=01/part.parquet", b"x")
    assert sorted(store.sessions()) == sorted(
        [("shop", SESSION, a), ("shop", second, b), ("blog", SESSION, c)]
    )


def test_delete_of_a_missing_file_returns_false(store: ReplayBlobStore) -> None:
    name = put(store, 1_764_590_400_000)
    assert store.destination.delete(name) is True
    assert store.destination.delete(name) is False
    assert store.destination.delete("replays/never/written.json.gz") is False


def test_delete_on_a_destination_never_written_returns_false(tmp_path: Path) -> None:
    for url in (str(tmp_path / "empty-archive"), f"memory://never-{uuid.uuid4().hex}"):
        assert FsspecDestination(url).delete("replays/site=a/session=b/x.json.gz") is False
