"""An adapter trained by `bundlekd finetune train`, served by the REAL vLLM server, makes
bundles through `bundlekd generate` (the OpenAI-compatible backend addresses it by name).

`make test` trains it (scripts/vllm/make_test_lora.py), serves it with `--lora-modules
bkd-lora=DIR` and sets BUNDLEKD_VLLM_URL, BUNDLEKD_VLLM_LORA (the served name) and
BUNDLEKD_VLLM_LORA_DIR (the adapter folder). Skipped when they are unset.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.finetune.adapter_card import read_card, serve_command

pytestmark = pytest.mark.vllm


@pytest.fixture
def served() -> tuple[str, str, Path]:
    url = os.environ.get("BUNDLEKD_VLLM_URL")
    name = os.environ.get("BUNDLEKD_VLLM_LORA")
    folder = os.environ.get("BUNDLEKD_VLLM_LORA_DIR")
    if not (url and name and folder):
        pytest.skip(
            "BUNDLEKD_VLLM_URL, BUNDLEKD_VLLM_LORA and BUNDLEKD_VLLM_LORA_DIR are needed: "
            "`make test` trains an adapter and serves it on scripts/vllm/serve.sh"
        )
    return url.rstrip("/"), name, Path(folder)


def test_trained_adapter_is_served_by_vllm_and_generates_bundles(
    served: tuple[str, str, Path], tmp_path: Path
) -> None:
    openai = pytest.importorskip("openai")
    url, name, folder = served
    card = read_card(folder)  # written by the trainer, last: the adapter is complete
    assert card["kind"] == "lora-adapter"
    assert card["epochs"][0]["steps"] > 0
    # The server serves this folder under the name serve-cmd would give it.
    client = openai.OpenAI(base_url=url, api_key="EMPTY", max_retries=0)
    models = {m.id: m for m in client.models.list().data}
    assert name in models
    line = serve_command(folder, name=name)
    assert f"{name}={folder.resolve()}" in line
    assert Path(str(getattr(models[name], "root", folder))).resolve() == folder.resolve()

    out = tmp_path / "preds.jsonl"
    args = [
        "generate", "--source", "sample", "--domain", "electronic", "--split", "test",
        "--model", f"openai:smollm2@{url}+adapter:{name}", *card["inference_flags"],
        "--limit", "3", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{shlex.join(args)}\n{result.output}"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3
    assert all(row["parsed"] for row in rows), [row["raw"] for row in rows]
    assert any(row["bundles"] for row in rows), [row["raw"] for row in rows]
    config = out.with_name(out.name + ".config.yaml").read_text()
    assert f"+adapter:{name}" in config  # the run records which adapter answered
