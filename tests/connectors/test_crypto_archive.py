"""Encryption applied: recording blobs (ReplayBlobStore) and dead letters in the archive
(ArchiveWriter) are stored encrypted, read decrypted, and unreadable once shredded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest

from connectors.archive import ArchiveWriter
from connectors.archive.replays import ReplayBlobStore
from connectors.crypto import (
    ENCRYPTED_FIELD,
    DecryptionFailed,
    KeyDestroyed,
    NoKeyConfigured,
    is_encrypted,
    open_dead_letter,
    seal_dead_letter,
)
from operators.dead_letter import dead_letter_record
from operators.model import Reason, Rejected
from operators.replay_blobs import blob_name, decode_blob, encode_blob
from tests.connectors.crypto_fixtures import local_cipher

SHOP = "shop.example.com"
SESSION = "0b7e8e0e-6a4a-4a53-9c39-5b0e7b3c2f10"
RECEIVED = 1_906_632_000_000  # 2030-06-01


def _blob(seq: int) -> tuple[str, bytes]:
    events = [{"type": 3, "timestamp": RECEIVED + seq, "data": {"text": f"typed {seq}"}}]
    return blob_name(SHOP, SESSION, RECEIVED + seq, seq, f"chunk{seq}"), encode_blob(
        f"chunk{seq}", seq, events
    )


def test_blobs_are_stored_encrypted_and_read_decrypted(tmp_path: Path) -> None:
    store = ReplayBlobStore(str(tmp_path / "archive"), cipher=local_cipher(tmp_path))
    name, blob = _blob(0)
    store.write(name, blob)
    on_disk = (tmp_path / "archive" / name).read_bytes()
    assert is_encrypted(on_disk) and b"typed" not in on_disk
    assert store.read(name) == blob
    assert store.chunk_names(SHOP, SESSION) == [name]
    assert json.loads(b"".join(store.stream_events([name])))[0]["data"]["text"] == "typed 0"


def test_a_rewrite_has_other_bytes_and_the_same_content(tmp_path: Path) -> None:
    store = ReplayBlobStore(str(tmp_path / "archive"), cipher=local_cipher(tmp_path))
    name, blob = _blob(0)
    store.write(name, blob)
    first = (tmp_path / "archive" / name).read_bytes()
    store.write(name, blob)  # a replay after a crash
    assert (tmp_path / "archive" / name).read_bytes() != first
    assert store.read(name) == blob


def test_a_blob_moved_to_another_recording_does_not_open(tmp_path: Path) -> None:
    store = ReplayBlobStore(str(tmp_path / "archive"), cipher=local_cipher(tmp_path))
    name, blob = _blob(0)
    store.write(name, blob)
    moved = name.replace(SESSION, "11111111-2222-4333-8444-555555555555")
    (tmp_path / "archive" / moved).parent.mkdir(parents=True)
    shutil.copy(tmp_path / "archive" / name, tmp_path / "archive" / moved)
    with pytest.raises(DecryptionFailed, match="failed authentication"):
        store.read(moved)


def test_a_shredded_site_recordings_raise_the_typed_error(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    store = ReplayBlobStore(str(tmp_path / "archive"), cipher=cipher)
    names = []
    for seq in range(2):
        name, blob = _blob(seq)
        store.write(name, blob)
        names.append(name)
        cipher.keys.rotate(SHOP)
    cipher.keys.shred(SHOP)
    for name in names:
        with pytest.raises(KeyDestroyed, match=f"the data key of site {SHOP} was destroyed"):
            store.read(name)
    with pytest.raises(KeyDestroyed):
        list(store.stream_events(names))
    # Deleting still works (erasure and expiry do not need the key).
    assert store.delete_session(SHOP, SESSION) == 2


def test_blobs_written_before_encryption_stay_readable(tmp_path: Path) -> None:
    name, blob = _blob(0)
    ReplayBlobStore(str(tmp_path / "archive")).write(name, blob)
    store = ReplayBlobStore(str(tmp_path / "archive"), cipher=local_cipher(tmp_path))
    assert decode_blob(store.read(name))["chunk_id"] == "chunk0"


def test_an_encrypted_blob_without_a_cipher_is_a_clear_error(tmp_path: Path) -> None:
    name, blob = _blob(0)
    ReplayBlobStore(str(tmp_path / "archive"), cipher=local_cipher(tmp_path)).write(name, blob)
    with pytest.raises(NoKeyConfigured, match="encrypted and encryption is off"):
        ReplayBlobStore(str(tmp_path / "archive")).read(name)


def _record(site_id: str | None, offset: int, payload: object) -> dict[str, object]:
    rejected = Rejected(
        stage="validate",
        reasons=[Reason("bad_url", "url")],
        payload=payload,
        offset=offset,
        received_at=RECEIVED,
        site_id=site_id,
    )
    return dead_letter_record(rejected, "raw_events-0", RECEIVED + 5)


def test_dead_letters_keep_metadata_in_clear_and_the_payload_encrypted(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path / "archive"), cipher=local_cipher(tmp_path))
    payload = {"site_id": SHOP, "session_id": SESSION, "url": "https://shop/ok?q=secret words"}
    records = [_record(SHOP, 7, payload), _record(None, 8, b"{not json secret words")]
    assert records[0]["session_id"] == SESSION and records[0]["site_id"] == SHOP
    assert records[1]["session_id"] is None and records[1]["site_id"] is None
    (path,) = writer.write_dead_letters(records, name="raw_events-0-0")
    text = Path(path).read_text()
    assert "secret words" not in text
    stored = [json.loads(line) for line in text.splitlines()]
    for line, record in zip(stored, records, strict=True):
        assert "payload" not in line and ENCRYPTED_FIELD in line
        clear = {k: v for k, v in record.items() if k != "payload"}
        assert {k: v for k, v in line.items() if k != ENCRYPTED_FIELD} == clear
    assert writer.read_dead_letters() == records
    # The record without a valid site id is under the system-wide key.
    assert (tmp_path / "archive" / "keys" / "system").is_dir()


def test_a_payload_moved_to_another_record_does_not_open(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    first = seal_dead_letter(cipher, _record(SHOP, 1, {"a": "one"}))
    second = seal_dead_letter(cipher, _record(SHOP, 2, {"a": "two"}))
    first[ENCRYPTED_FIELD] = second[ENCRYPTED_FIELD]
    with pytest.raises(DecryptionFailed):
        open_dead_letter(cipher, first)
    changed = {**second, "site_id": "blog.example.com"}
    with pytest.raises((DecryptionFailed, KeyDestroyed)):
        open_dead_letter(cipher, changed)


def test_shredded_dead_letters_raise_or_are_marked(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    writer = ArchiveWriter(str(tmp_path / "archive"), cipher=cipher)
    kept = _record("blog.example.com", 2, {"a": "kept"})
    writer.write_dead_letters([_record(SHOP, 1, {"a": "gone"}), kept], name="n")
    cipher.keys.shred(SHOP)
    with pytest.raises(KeyDestroyed, match=f"site {SHOP}"):
        writer.read_dead_letters()
    shredded, readable = writer.read_dead_letters(skip_shredded=True)
    assert shredded["payload_shredded"] is True and "payload" not in shredded
    assert shredded["offset"] == 1 and shredded["site_id"] == SHOP
    assert readable == kept


def test_records_already_sealed_are_not_sealed_twice(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    sealed = seal_dead_letter(cipher, _record(SHOP, 1, {"a": 1}))
    assert seal_dead_letter(cipher, sealed) == sealed
    assert orjson.loads(orjson.dumps(open_dead_letter(cipher, sealed)))["payload"] == {"a": 1}


def test_an_invalid_site_id_is_encrypted_with_the_payload(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    record = _record("bad site jane@example.com", 3, {"site_id": "bad site jane@example.com"})
    sealed = seal_dead_letter(cipher, record)
    assert sealed["site_id"] is None and "jane" not in orjson.dumps(sealed).decode()
    assert (tmp_path / "archive" / "keys" / "system").is_dir()
    assert open_dead_letter(cipher, sealed) == record
