"""Envelope encryption (connectors.crypto): round trips, the associated data, tampering,
rotation, master-key rotation, crypto-shredding, file modes, concurrent key creation,
and the KMS requests' shape."""

from __future__ import annotations

import base64
import json
import logging
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from connectors.crypto import (
    SYSTEM_OWNER,
    ArchiveCipher,
    DecryptionFailed,
    KeyDestroyed,
    KmsMasterKey,
    LocalMasterKey,
    is_encrypted,
    key_owner,
)
from connectors.crypto.envelope import HEADER_BYTES, read_header
from tests.connectors.crypto_fixtures import Clock, local_cipher, local_store, token_bytes

SITE = "shop.example.com"
NAME = "replays/site=shop.example.com/session=s/1.json.gz"


def test_round_trip_and_header(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    sealed = cipher.encrypt(SITE, NAME, b"recording bytes")
    assert is_encrypted(sealed) and b"recording bytes" not in sealed
    header = read_header(sealed)
    assert header.key_version == 1 and len(header.nonce) == 12 and len(header.key_id) == 8
    assert len(sealed) == HEADER_BYTES + len(b"recording bytes") + 16
    assert cipher.decrypt(SITE, NAME, sealed) == b"recording bytes"


def test_each_object_has_its_own_nonce(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    first, second = (cipher.encrypt(SITE, NAME, b"same") for _ in range(2))
    assert read_header(first).nonce != read_header(second).nonce and first != second
    assert cipher.decrypt(SITE, NAME, first) == cipher.decrypt(SITE, NAME, second) == b"same"


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    # Randomness is passed in: a seeded run is reproducible.
    one = local_cipher(tmp_path / "a").encrypt(SITE, NAME, b"x")
    two = local_cipher(tmp_path / "b").encrypt(SITE, NAME, b"x")
    assert one == two


@pytest.mark.parametrize(
    ("site", "name"),
    [("blog.example.com", NAME), (SITE, NAME.replace("1.json", "2.json"))],
)
def test_moved_to_another_site_or_name_fails(tmp_path: Path, site: str, name: str) -> None:
    cipher = local_cipher(tmp_path)
    cipher.keys.current("blog.example.com")  # the other site has keys of its own
    sealed = cipher.encrypt(SITE, NAME, b"secret")
    with pytest.raises((DecryptionFailed, KeyDestroyed)):
        cipher.decrypt(site, name, sealed)


@pytest.mark.parametrize("position", [0, 5, 7, 12, 20, HEADER_BYTES, -1])
def test_any_changed_byte_fails(tmp_path: Path, position: int) -> None:
    cipher = local_cipher(tmp_path)
    sealed = bytearray(cipher.encrypt(SITE, NAME, b"secret payload"))
    sealed[position] ^= 0x01
    with pytest.raises((DecryptionFailed, KeyDestroyed)):
        cipher.decrypt(SITE, NAME, bytes(sealed))


def test_truncated_fails(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    sealed = cipher.encrypt(SITE, NAME, b"secret payload")
    for cut in (10, HEADER_BYTES, len(sealed) - 1):
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(SITE, NAME, sealed[:cut])


def test_rotation_keeps_old_objects_readable(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    old = cipher.encrypt(SITE, NAME, b"old")
    rotated = cipher.keys.rotate(SITE)
    new = cipher.encrypt(SITE, NAME, b"new")
    assert rotated.version == 2
    assert read_header(old).key_version == 1 and read_header(new).key_version == 2
    assert cipher.decrypt(SITE, NAME, old) == b"old"
    assert cipher.decrypt(SITE, NAME, new) == b"new"
    assert [version for version, _ in cipher.keys.versions(SITE)] == [1, 2]


def test_a_rotation_elsewhere_is_seen_after_the_cache_time(tmp_path: Path) -> None:
    clock = Clock()
    writer = local_store(tmp_path, cache_seconds=60, clock=clock)
    assert writer.current(SITE).version == 1
    local_store(tmp_path, seed=2).rotate(SITE)  # another process
    assert writer.current(SITE).version == 1
    clock.now += 60
    assert writer.current(SITE).version == 2


def test_master_rotation_rewraps_only_the_data_keys(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    sealed = cipher.encrypt(SITE, NAME, b"kept")
    key_file = next((tmp_path / "archive" / "keys" / f"site={SITE}").glob("v*.json"))
    before = json.loads(key_file.read_text())
    master = cipher.keys.master
    assert isinstance(master, LocalMasterKey)
    old_master = master.current_id
    master.rotate()
    assert cipher.keys.rewrap_all() == 1
    assert master.retire() == [old_master]
    after = json.loads(key_file.read_text())
    assert after["master_key_id"] == master.current_id != before["master_key_id"]
    assert after["wrapped_key"] != before["wrapped_key"]
    # A fresh process with only the new master key reads the old object.
    fresh = local_cipher(tmp_path, seed=5)
    assert fresh.decrypt(SITE, NAME, sealed) == b"kept"


def test_shredding_makes_every_object_of_the_site_unreadable(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    old = cipher.encrypt(SITE, NAME, b"one")
    cipher.keys.rotate(SITE)
    new = cipher.encrypt(SITE, NAME, b"two")
    other = cipher.encrypt("blog.example.com", "b", b"three")
    assert cipher.keys.shred(SITE) == 2
    for sealed in (old, new):
        with pytest.raises(KeyDestroyed) as raised:
            cipher.decrypt(SITE, NAME, sealed)
        assert str(raised.value) == (
            f"the data key of site {SITE} was destroyed: this object can no longer be read"
        )
    assert cipher.decrypt("blog.example.com", "b", other) == b"three"
    # The site goes on with a new key; the old objects stay unreadable.
    assert cipher.decrypt(SITE, NAME, cipher.encrypt(SITE, NAME, b"after")) == b"after"
    with pytest.raises(KeyDestroyed):
        cipher.decrypt(SITE, NAME, old)


def test_a_shred_elsewhere_takes_effect_after_the_cache_time(tmp_path: Path) -> None:
    clock = Clock()
    reader = ArchiveCipher(
        local_store(tmp_path, cache_seconds=30, clock=clock), token_bytes=token_bytes(9)
    )
    sealed = reader.encrypt(SITE, NAME, b"x")
    local_store(tmp_path, seed=3).shred(SITE)
    assert reader.decrypt(SITE, NAME, sealed) == b"x"  # cached
    clock.now += 30
    with pytest.raises(KeyDestroyed):
        reader.decrypt(SITE, NAME, sealed)


def test_files_are_private_and_hold_no_key_in_clear(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    data_key = store.current(SITE)
    master_file = tmp_path / "secrets" / "master.key"
    assert stat.S_IMODE(master_file.stat().st_mode) == 0o600
    key_files = list((tmp_path / "archive" / "keys").rglob("*.json"))
    assert len(key_files) == 1 and stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
    record = json.loads(key_files[0].read_text())
    assert record["owner"] == SITE and record["version"] == 1 and record["master"] == "local"
    raw = key_files[0].read_bytes()
    assert data_key.key not in raw and data_key.key.hex().encode() not in raw
    assert base64.b64encode(data_key.key) not in raw


def test_concurrent_first_keys_both_stay_readable(tmp_path: Path) -> None:
    # Two processes that each found no key and created a version 1 at the same moment:
    # played here as two stores whose key files then meet in one place.
    first = local_cipher(tmp_path, seed=1)
    one = first.encrypt(SITE, NAME, b"first")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "secrets", elsewhere / "secrets")
    second = local_cipher(elsewhere, seed=2)
    two = second.encrypt(SITE, NAME, b"second")
    for key_file in (elsewhere / "archive" / "keys" / f"site={SITE}").iterdir():
        shutil.copy(key_file, tmp_path / "archive" / "keys" / f"site={SITE}" / key_file.name)
    second = local_cipher(tmp_path, seed=2)
    assert [version for version, _ in first.keys.versions(SITE)] == [1, 1]
    assert second.decrypt(SITE, NAME, one) == b"first"
    assert first.decrypt(SITE, NAME, two) == b"second"
    # Both then agree on the key new objects use.
    assert first.keys.current(SITE).key_id == second.keys.current(SITE).key_id


def test_one_master_key_file_even_when_created_twice(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "master.key"
    first = LocalMasterKey(path, token_bytes=token_bytes(1))
    second = LocalMasterKey(path, token_bytes=token_bytes(2))
    assert first.current_id == second.current_id


def test_another_master_key_cannot_unwrap(tmp_path: Path) -> None:
    cipher = local_cipher(tmp_path)
    sealed = cipher.encrypt(SITE, NAME, b"x")
    (tmp_path / "secrets" / "master.key").unlink()
    with pytest.raises(DecryptionFailed, match="master key"):
        local_cipher(tmp_path, seed=4).decrypt(SITE, NAME, sealed)


def test_invalid_site_ids_use_the_system_key(tmp_path: Path) -> None:
    assert key_owner("shop.example.com") == "shop.example.com"
    for bad in (None, "", "bad site", "x" * 65, "shop\n", 42):
        assert key_owner(bad) == SYSTEM_OWNER
    cipher = local_cipher(tmp_path)
    sealed = cipher.encrypt(SYSTEM_OWNER, "n", b"x")
    assert (tmp_path / "archive" / "keys" / "system").is_dir()
    assert cipher.decrypt(SYSTEM_OWNER, "n", sealed) == b"x"
    with pytest.raises(ValueError, match="not a site id"):
        cipher.encrypt("../escape", "n", b"x")


def test_key_operations_are_logged_without_key_material(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = local_store(tmp_path)
    with caplog.at_level(logging.INFO, logger="insightlite.keys"):
        key = store.current(SITE).key
        store.rotate(SITE)
        store.shred(SITE)
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(":")[0] for line in lines] == [
        "data key created",
        "data key rotated",
        "data key shredded",
    ]
    assert all(f"site {SITE} by test at 2030-06-01T12:00:00+00:00" in line for line in lines)
    assert not any(key.hex() in line for line in lines)


class _Captured(Exception):
    """Raised by the request hook: the request was built and never sent."""


def _kms_client_capturing(requests: list[dict[str, Any]]) -> Any:
    import boto3

    client = boto3.client(
        "kms",
        region_name="eu-west-3",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="example",
    )

    def capture(request: Any, **_: Any) -> None:
        requests.append(
            {
                "target": request.headers["X-Amz-Target"].decode(),
                "url": request.url,
                "body": json.loads(request.body),
            }
        )
        raise _Captured

    client.meta.events.register("before-send.kms", capture)
    return client


def test_kms_requests_are_shaped_with_the_site_context() -> None:
    # AWS cannot be reached from the tests: the requests are built by botocore and
    # captured before sending; no answer is faked.
    requests: list[dict[str, Any]] = []
    key_id = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    master = KmsMasterKey(key_id, lambda: _kms_client_capturing(requests))
    context = {"site": SITE, "version": "1", "key_id": "00" * 8}
    with pytest.raises(_Captured):
        master.wrap(b"k" * 32, context)
    wrapped = {"master": "kms", "master_key_id": key_id, "wrapped_key": "AAAA"}
    with pytest.raises(_Captured):
        master.unwrap(wrapped, context)
    encrypt, decrypt = requests
    assert encrypt["target"] == "TrentService.Encrypt"
    assert encrypt["url"] == "https://kms.eu-west-3.amazonaws.com/"
    assert encrypt["body"]["KeyId"] == key_id
    assert encrypt["body"]["EncryptionContext"] == context
    assert encrypt["body"]["Plaintext"] == base64.b64encode(b"k" * 32).decode()
    assert decrypt["target"] == "TrentService.Decrypt"
    assert decrypt["body"] == {
        "CiphertextBlob": "AAAA",
        "KeyId": key_id,
        "EncryptionContext": context,
    }


def test_kms_refuses_a_key_wrapped_locally() -> None:
    master = KmsMasterKey("alias/insightlite", lambda: None)
    with pytest.raises(DecryptionFailed, match="not KMS"):
        master.unwrap({"master": "local", "master_key_id": "x", "wrapped_key": "AAAA"}, {})
