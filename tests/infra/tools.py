"""Build, once per machine, the isolated virtual environment checkov runs in.

checkov cannot share the project's environment: it pins boto3 and botocore to
exact old versions, while s3fs needs the aiobotocore that pins much newer ones.
So the tests install it (checkov-requirements.txt) into its own environment under
the user's cache directory, keyed by the requirements and the Python version, and
reuse it on every later run. INSIGHTLITE_CHECKOV names an existing checkov
executable instead; INSIGHTLITE_TOOLS_DIR moves the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("checkov-requirements.txt")
COMPLETE = ".complete"


def tools_dir() -> Path:
    configured = os.environ.get("INSIGHTLITE_TOOLS_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "insightlite" / "tools"


def checkov_executable() -> Path:
    """The checkov command, installed on first use (about half a minute)."""
    configured = os.environ.get("INSIGHTLITE_CHECKOV")
    if configured:
        return Path(configured)
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + repr(sys.version_info[:2]).encode())
    env_dir = tools_dir() / f"checkov-{key.hexdigest()[:12]}"
    executable = env_dir / "bin" / "checkov"
    if (env_dir / COMPLETE).exists():
        return executable
    # An environment without the marker is a half-made one (an interrupted run):
    # start again rather than trust it.
    shutil.rmtree(env_dir, ignore_errors=True)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
        timeout=900,
    )
    (env_dir / COMPLETE).write_text("checkov environment complete\n")
    return executable
