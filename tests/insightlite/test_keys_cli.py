"""`insightlite keys`: status, rotate, rotate-master and shred over a local data dir,
and the typed error a shredded site's objects then raise."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from connectors.archive.replays import ReplayBlobStore
from connectors.crypto import KeyDestroyed, archive_cipher
from foundation.settings import Settings, load_settings
from insightlite.cli import main
from operators.replay_blobs import blob_name, encode_blob

SHOP = "shop.example.com"
BLOG = "blog.example.com"
SESSION = "0b7e8e0e-6a4a-4a53-9c39-5b0e7b3c2f10"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("INSIGHTLITE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INSIGHTLITE_CRYPTO_KEY_CACHE_SECONDS", "0")
    return load_settings()


def _store(settings: Settings) -> ReplayBlobStore:
    return ReplayBlobStore(settings.resolved_archive_url, cipher=archive_cipher(settings))


def _write(settings: Settings, site: str, seq: int) -> str:
    name = blob_name(site, SESSION, 1_906_632_000_000 + seq, seq, f"c{seq}")
    _store(settings).write(name, encode_blob(f"c{seq}", seq, [{"type": 4, "n": seq}]))
    return name


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["keys", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_status_rotate_and_shred(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "status")[1].startswith("no data keys yet")
    old = _write(settings, SHOP, 0)
    blog = _write(settings, BLOG, 0)
    code, out, _ = _run(capsys, "rotate", "--site", SHOP)
    assert code == 0 and "version 2" in out
    new = _write(settings, SHOP, 1)
    code, out, _ = _run(capsys, "status", "--json")
    rows = {row["site"]: row for row in map(orjson.loads, out.splitlines())}
    assert rows[SHOP]["versions"] == 2 and rows[SHOP]["current_version"] == 2
    assert rows[BLOG]["versions"] == 1
    store = _store(settings)
    assert store.read(old) and store.read(new)

    code, _, err = _run(capsys, "shred", "--site", SHOP)
    assert code == 2 and "--yes" in err
    assert store.read(old)  # nothing was destroyed
    code, out, _ = _run(capsys, "shred", "--site", SHOP, "--yes")
    assert code == 0 and "destroyed 2 data-key version(s)" in out
    for name in (old, new):
        with pytest.raises(KeyDestroyed, match=f"site {SHOP} was destroyed"):
            _store(settings).read(name)
    assert _store(settings).read(blog)


def test_rotate_master_rewraps_and_old_objects_stay_readable(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [_write(settings, SHOP, 0), _write(settings, BLOG, 0)]
    master_file = settings.data_dir / "secrets" / "master.key"
    before = orjson.loads(master_file.read_bytes())["current"]
    code, out, _ = _run(capsys, "rotate-master")
    assert code == 0 and "re-wrapped 2 data key(s)" in out
    document = orjson.loads(master_file.read_bytes())
    assert document["current"] != before and list(document["keys"]) == [document["current"]]
    for name in names:
        assert _store(settings).read(name)


def test_operations_are_logged_with_who(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, err = _run(capsys, "rotate", "--site", SHOP, "--log-level", "INFO")
    (line,) = [line for line in err.splitlines() if "data key rotated" in line]
    assert f"data key rotated: site {SHOP} by " in line
    assert "via `insightlite keys rotate` at " in line and "version=1" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rotate", "--site", "bad site"], "--site: 'bad site' is not a site id"),
        (["shred", "--site", "../x", "--yes"], "is not a site id"),
    ],
)
def test_bad_sites_are_refused(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in err


def test_a_damaged_master_key_file_is_a_clear_failure(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    master_file = settings.data_dir / "secrets" / "master.key"
    master_file.parent.mkdir(parents=True)
    master_file.write_text("not a key file")
    code, _, err = _run(capsys, "rotate", "--site", SHOP)
    assert code == 1
    assert f"insightlite: keys rotate: master key file {master_file} is damaged" in err
