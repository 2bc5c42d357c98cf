"""The `insightlite keys` command: the data keys that encrypt dead-letter payloads and
session recordings.

    insightlite keys status [--json]
    insightlite keys rotate --site S
    insightlite keys rotate-master
    insightlite keys shred --site S --yes

``rotate`` adds a data-key version for a site's new objects (old objects keep theirs;
nothing is rewritten). ``rotate-master`` re-wraps every data key under a new local
master key, or under the KMS key now configured (INSIGHTLITE_CRYPTO_KMS_KEY_ID; the
previous KMS key must still allow kms:Decrypt while it runs). ``shred`` destroys every
data key of a site: its encrypted recordings and dead letters can never be read again.
Every operation is logged (who, what, when; never key material). Exit codes: 0 done,
1 the key store or KMS unavailable, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

import orjson

from foundation.settings import SITE_ID_PATTERN, ConfigError, Settings
from insightlite.cli.options import add_logging_flags, set_command


def add_parser(subparsers: Any) -> None:
    """Add ``keys status|rotate|rotate-master|shred`` to ``subparsers``."""
    keys = subparsers.add_parser(
        "keys", help="manage the encryption keys of recordings and dead letters"
    )
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    status = keys_sub.add_parser("status", help="list each site's data-key versions")
    status.add_argument("--json", action="store_true", help="one JSON object per site")
    rotate = keys_sub.add_parser(
        "rotate", help="new data-key version for a site's new objects (old ones stay readable)"
    )
    rotate.add_argument("--site", required=True, help="the site id")
    keys_sub.add_parser(
        "rotate-master",
        help="re-wrap every data key under a new master key (objects are not rewritten)",
    )
    shred = keys_sub.add_parser(
        "shred",
        help="destroy a site's data keys: its recordings and dead letters become unreadable",
    )
    shred.add_argument("--site", required=True, help="the site id")
    shred.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    for sub in (status, rotate, keys_sub.choices["rotate-master"], shred):
        sub.add_argument("--data-dir", help="working directory (INSIGHTLITE_DATA_DIR)")
        add_logging_flags(sub)
        set_command(sub, cmd_keys)


def _actor(command: str) -> str:
    """Who runs the operation, for the log: the OS user and the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"{user} via `insightlite keys {command}`"


def _site(value: str) -> str:
    if not SITE_ID_PATTERN.fullmatch(value):
        raise ConfigError(f"--site: {value!r} is not a site id (1-64 of A-Za-z0-9._-)")
    return value


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.crypto import CryptoError

    try:
        return _keys(args, settings)
    except (CryptoError, OSError) as exc:  # OSError: also KMS or the archive unreachable
        print(f"insightlite: keys {args.keys_command}: {exc}", file=sys.stderr)
        return 1


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.crypto import key_store

    command = args.keys_command
    if command == "shred" and not args.yes:
        raise ConfigError(
            "shred: add --yes to destroy the keys; every encrypted recording and dead "
            f"letter of site {args.site} becomes unreadable, for good"
        )
    site = _site(args.site) if command in ("rotate", "shred") else ""
    store = key_store(settings, actor=_actor(command))
    if command == "status":
        rows = store.status()
        for row in rows:
            if args.json:
                print(orjson.dumps(row).decode())
            else:
                print(
                    f"{row['site']}: {row['versions']} version(s), "
                    f"current v{row['current_version']}, "
                    f"master {', '.join(row['master_key_ids'])}"
                )
        if not rows and not args.json:
            print("no data keys yet (they are created with the first encrypted object)")
    elif command == "rotate":
        data_key = store.rotate(site)
        print(f"site {site}: new objects now use data-key version {data_key.version}")
    elif command == "rotate-master":
        count = _rotate_master(store)
        print(f"re-wrapped {count} data key(s) under master key {store.master.current_id}")
    else:
        destroyed = store.shred(site)
        print(
            f"site {site}: destroyed {destroyed} data-key version(s); its encrypted "
            "recordings and dead letters can no longer be read"
        )
    return 0


def _rotate_master(store: Any) -> int:
    from connectors.crypto import LocalMasterKey

    master = store.master
    if isinstance(master, LocalMasterKey):
        # New key first, kept beside the old one until every data key is re-wrapped:
        # a crash half-way leaves both, and running the command again finishes it.
        master.rotate()
        count: int = store.rewrap_all()
        master.retire()
        return count
    # KMS: the configured key is the new master; the old one still decrypts.
    rewrapped: int = store.rewrap_all()
    return rewrapped
