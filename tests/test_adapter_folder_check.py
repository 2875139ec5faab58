"""A broken LoRA adapter folder is one line naming the folder and the fault (issue 16.10),
found when a command builds the backend, before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.app.components import build_llm
from bundlekd.errors import ConfigError
from bundlekd.llm.config import LLMConfig

A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"


def _adapter(folder: Path, rank: int = 4) -> Path:
    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    config = {"peft_type": "LORA", "r": rank, "lora_alpha": 8, "target_modules": ["q_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    tensors = {A: np.zeros((4, 64), np.float32), B: np.zeros((64, 4), np.float32)}
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    return folder


def _fault(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        build_llm(LLMConfig(model=f"smollm2+adapter:{folder}"))
    message = str(caught.value)
    assert str(folder) in message
    assert "\n" not in message
    return message


def test_a_whole_adapter_passes_and_each_fault_is_named(tmp_path: Path) -> None:
    build_llm(LLMConfig(model=f"smollm2+adapter:{_adapter(tmp_path / 'ok')}"))  # nothing loads

    missing = _adapter(tmp_path / "no-config")
    (missing / "adapter_config.json").unlink()
    assert "no adapter_config.json" in _fault(missing)

    corrupt = _adapter(tmp_path / "corrupt")
    (corrupt / "adapter_config.json").write_text('{"r": 4,')
    assert "not valid JSON" in _fault(corrupt)

    truncated = _adapter(tmp_path / "truncated")
    weights = truncated / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    assert "adapter_model.safetensors is truncated" in _fault(truncated)

    garbage = _adapter(tmp_path / "garbage")
    (garbage / "adapter_model.safetensors").write_bytes(b"\x00" * 3)
    assert "truncated or not a safetensors file" in _fault(garbage)

    rank = _adapter(tmp_path / "rank", rank=8)
    assert "says rank r=8 but the weights have rank 4" in _fault(rank)

    assert "not a folder" in _fault(tmp_path / "absent")


def test_generate_with_a_broken_adapter_is_one_line(tmp_path: Path) -> None:
    from bundlekd.cli import app

    broken = _adapter(tmp_path / "a")
    (broken / "adapter_config.json").unlink()
    args = ["generate", "--source", "sample", "--mode", "zero_shot", "--embedder", "hashing"]
    args += ["--model", f"smollm2+adapter:{broken}", "--out", str(tmp_path / "p.jsonl")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: adapter {broken}: no adapter_config")
    assert "Traceback" not in result.output
