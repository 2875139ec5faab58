"""`bundlekd generate` through the project's OpenAI-compatible backend against the REAL vLLM
server (scripts/vllm/serve.sh; `make test` starts it and sets BUNDLEKD_VLLM_URL)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app

pytestmark = pytest.mark.vllm


@pytest.fixture
def vllm_url() -> str:
    url = os.environ.get("BUNDLEKD_VLLM_URL")
    if not url:
        pytest.skip("BUNDLEKD_VLLM_URL is unset: start scripts/vllm/serve.sh (make test does)")
    return url


def test_generate_against_real_vllm_server(vllm_url: str, tmp_path: Path) -> None:
    out = tmp_path / "preds.jsonl"
    args = [
        "generate", "--source", "sample", "--domain", "electronic", "--split", "test",
        "--model", f"openai:smollm2@{vllm_url}", "--mode", "few_shot", "--embedder", "hashing",
        "--limit", "3", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3
    assert {row["domain"] for row in rows} == {"electronic"}
    # Guided decoding on the server: every answer parses into the bundle structure.
    assert all(row["parsed"] for row in rows), [row["raw"] for row in rows]
    assert all(row["latency_s"] > 0 for row in rows)
    # Resume: a second run finds nothing left to do and keeps the file as it was.
    before = out.read_text()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert out.read_text() == before


def test_dead_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "preds.jsonl"
    args = [
        "generate", "--source", "sample", "--domain", "food", "--split", "test",
        "--model", "openai:smollm2@http://127.0.0.1:9/v1", "--mode", "zero_shot",
        "--limit", "2", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "cannot reach" in result.output
    assert not out.exists() or out.read_text() == ""
