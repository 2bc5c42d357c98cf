"""Read the Terraform code with python-hcl2 into plain Python values.

python-hcl2 keeps HCL's quoting (`"\"text\""`), marks blocks with `__is_block__`
and keeps comments; `load_tree` strips all of that, so a string literal becomes
its text and an expression stays `${...}`. `hcl_object` turns the HCL object of a
`jsonencode({...})` policy into a dict (references become their source text), so
the tests can read bucket, key and secret policies like IAM policy documents.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "infra" / "terraform"


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def clean(value: Any) -> Any:
    """python-hcl2's output without quotes, block markers or comments."""
    if isinstance(value, dict):
        return {
            _unquote(key): clean(item)
            for key, item in value.items()
            if key not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


@dataclass
class Module:
    """The blocks of one directory of .tf files."""

    path: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def resources_of(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: body for (k, name), body in self.resources.items() if k == kind}


def load_module(directory: Path) -> Module:
    module = Module(path=directory)
    texts = []
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text()
        texts.append(text)
        tree = clean(hcl2.loads(text))
        for block in tree.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.resources[(kind, name)] = body
        for block in tree.get("data", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.data[(kind, name)] = body
        for block in tree.get("variable", []):
            module.variables.update(block)
        for block in tree.get("output", []):
            module.outputs.update(block)
        for block in tree.get("module", []):
            module.modules.update(block)
        module.terraform.extend(tree.get("terraform", []))
    module.text = "\n".join(texts)
    return module


def module_dirs() -> list[Path]:
    return sorted({path.parent for path in TF_DIR.rglob("*.tf")})


def first(block: Any) -> dict[str, Any]:
    """A nested block (python-hcl2 gives a list of one dict) as the dict."""
    if isinstance(block, list):
        assert len(block) == 1, f"expected one block, got {len(block)}"
        return dict(block[0])
    return dict(block)


_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\[[^\]]*\])?(\.[A-Za-z0-9_\-]+(\[[^\]]*\])?)*")


def hcl_object(expression: str) -> Any:
    """The value of `${jsonencode(<HCL object>)}` as Python data.

    Keys (`Name =` or `"name" =`) become JSON keys, references such as
    `aws_s3_bucket.archive.arn` become the string of their source text, string
    literals (with their `${...}` templates) stay as they are.
    """
    match = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expression.strip(), re.S)
    if not match:
        raise ValueError(f"not a jsonencode() expression: {expression[:60]}")
    source = match.group(1)
    out: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == '"':
            end = i + 1
            while source[end] != '"':
                end += 2 if source[end] == "\\" else 1
            out.append(source[i : end + 1])
            i = end + 1
        elif char == "=" and source[i + 1 : i + 2] != "=":
            out.append(":")
            i += 1
        elif char.isalpha() or char == "_":
            ref = _REFERENCE.match(source, i)
            assert ref is not None
            word = ref.group(0)
            # true/false/null are JSON already; a key (followed by `=`) or a
            # reference becomes a JSON string either way.
            out.append(word if word in ("true", "false", "null") else json.dumps(word))
            i = ref.end()
        else:
            out.append(char)
            i += 1
    return json.loads("".join(out))


def policy_statements(policy: Any) -> list[dict[str, Any]]:
    """Statements of a jsonencode() policy, normalised to lists for Action/Resource."""
    document = hcl_object(policy) if isinstance(policy, str) else policy
    statements = document["Statement"]
    result = []
    for statement in statements if isinstance(statements, list) else [statements]:
        normalised = dict(statement)
        for key in ("Action", "NotAction", "Resource"):
            if key in normalised and not isinstance(normalised[key], list):
                normalised[key] = [normalised[key]]
        result.append(normalised)
    return result
