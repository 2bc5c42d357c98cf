"""Shared, session-wide results for the infrastructure tests: the parsed Terraform
modules, the rendered Kubernetes manifests and one checkov scan of everything."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.hcl import TF_DIR, Module, load_module, module_dirs
from tests.infra.render import ROOT, render_all
from tests.infra.tools import checkov_executable


@pytest.fixture(scope="session")
def modules() -> dict[str, Module]:
    """Every directory of .tf files, by its path under infra/terraform."""
    return {str(path.relative_to(TF_DIR)): load_module(path) for path in module_dirs()}


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return render_all()


@pytest.fixture(scope="session")
def all_documents(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [doc for docs in rendered.values() for doc in docs]


def _json_documents(raw: str) -> list[dict[str, Any]]:
    """checkov prints one JSON value per framework run, sometimes a list of them."""
    decoder = json.JSONDecoder()
    reports: list[dict[str, Any]] = []
    index = 0
    while index < len(raw):
        if raw[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(raw, index)
        reports.extend(value if isinstance(value, list) else [value])
    return reports


@pytest.fixture(scope="session")
def checkov_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """One offline checkov run over the Terraform, the rendered manifests and the
    Dockerfile (a few seconds; the first run on a machine also installs checkov)."""
    executable = checkov_executable()
    scan_dir = tmp_path_factory.mktemp("checkov")
    for name, docs in render_all().items():
        (scan_dir / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    shutil.copy(ROOT / "Dockerfile", scan_dir / "Dockerfile")
    reports = []
    for directory, frameworks in (
        (TF_DIR, ["terraform"]),
        (scan_dir, ["kubernetes", "dockerfile"]),
    ):
        result = subprocess.run(
            [
                str(executable),
                "--directory",
                str(directory),
                "--framework",
                *frameworks,
                # Offline: no guideline or policy download, no external modules.
                "--skip-download",
                "--download-external-modules",
                "false",
                "--output",
                "json",
                "--compact",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        # Exit 1 means "failed checks", reported in the JSON; anything else is an error.
        assert result.returncode in (0, 1), result.stderr[-2000:]
        reports.extend(_json_documents(result.stdout))
    yield reports


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))
