"""checkov, offline, over the Terraform, the rendered manifests and the Dockerfile:
no failed check, and every skipped one justified next to its resource."""

from __future__ import annotations

import re
from typing import Any

from tests.infra.hcl import TF_DIR

SKIP_COMMENT = re.compile(r"#checkov:skip=(CKV2?_[A-Z0-9]+_\d+):(.*)")


def test_checkov_scanned_every_framework(checkov_reports: list[dict[str, Any]]) -> None:
    kinds = {report["check_type"] for report in checkov_reports}
    assert {"terraform", "kubernetes", "dockerfile"} <= kinds
    for report in checkov_reports:
        summary = report["summary"]
        assert summary["parsing_errors"] == 0, report["check_type"]
        assert summary["passed"] > 0, report["check_type"]


def test_no_failed_checks(checkov_reports: list[dict[str, Any]]) -> None:
    failed = [
        f"{report['check_type']}: {check['check_id']} {check['resource']} ({check['file_path']})"
        for report in checkov_reports
        for check in report["results"].get("failed_checks", [])
    ]
    assert failed == []


def test_every_skip_is_justified_in_the_code(checkov_reports: list[dict[str, Any]]) -> None:
    justified: dict[str, list[str]] = {}
    for path in TF_DIR.rglob("*.tf"):
        for check, reason in SKIP_COMMENT.findall(path.read_text()):
            assert len(reason.strip()) > 40, f"{path.name}: {check} needs a real reason"
            justified.setdefault(check, []).append(reason)
    for report in checkov_reports:
        for check in report["results"].get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 40, f"{check['check_id']} on {check['resource']}: no reason"
            if report["check_type"] == "terraform":
                assert check["check_id"] in justified, check["check_id"]
