"""`import bundlekd` and `bundlekd --help` must not import heavy libraries (STYLE.md P7)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "torch",
    "transformers",
    "peft",
    "trl",
    "faiss",
    "chromadb",
    "sentence_transformers",
    "ray",
]

_PROBE = """
import json, sys
from typer.testing import CliRunner
import bundlekd
from bundlekd.cli import app
result = CliRunner().invoke(app, ["--help"])
assert result.exit_code == 0, result.output
for group in ["data", "kb", "llm", "baseline"]:
    assert CliRunner().invoke(app, [group, "--help"]).exit_code == 0
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


def test_help_imports_nothing_heavy() -> None:
    code = _PROBE.replace("{heavy}", repr(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"bundlekd --help imported heavy modules: {loaded}"
