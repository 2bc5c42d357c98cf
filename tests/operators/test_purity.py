"""Operators are pure units: no Bytewax, no I/O clients."""

from __future__ import annotations

import ast
from pathlib import Path

OPERATORS = Path(__file__).resolve().parents[2] / "operators"
FORBIDDEN = ("bytewax", "confluent_kafka", "clickhouse_driver", "chdb", "s3fs", "fsspec")


def test_operators_import_no_runtime_or_io_library() -> None:
    offenders = []
    for path in sorted(OPERATORS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not offenders
