"""An adapter that PEFT cannot load onto the model (made for another base) is one ConfigError
line naming the folder, not a traceback (issue 16.10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.errors import ConfigError
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.transformers_local import TransformersLLM


def test_an_adapter_for_another_base_is_one_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("peft")
    import numpy as np
    from safetensors.numpy import save_file

    folder = tmp_path / "other-base"
    folder.mkdir()
    config = {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    tensors = {  # hidden size 32; the tiny model's is 64
        f"{prefix}.lora_A.weight": np.zeros((4, 32), np.float32),
        f"{prefix}.lora_B.weight": np.zeros((32, 4), np.float32),
    }
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    llm = TransformersLLM(tiny_model_dir, dtype="float32", num_threads=1)
    request = ChatRequest([Message("user", "hi")], Sampling(max_new_tokens=2), adapter=str(folder))
    with pytest.raises(ConfigError) as caught:
        llm.generate([request])
    message = str(caught.value)
    assert message.startswith(f"adapter {folder}: does not load onto ")
    assert "\n" not in message
