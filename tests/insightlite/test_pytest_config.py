"""The suite runs with plain `pytest`, from the repository root or from elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_plain_pytest_imports_the_test_helpers_from_another_directory(tmp_path: Path) -> None:
    # `python -c` puts only the current directory (here not the root) on sys.path, as
    # the `pytest` script does: the root must come from the pytest configuration.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            str(ROOT / "tests" / "insightlite" / "test_worker_settings.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "No module named 'tests'" not in output
    assert "test_two_worker_processes_see_the_kafka_password" in output
