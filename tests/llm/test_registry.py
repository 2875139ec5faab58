"""get_llm spec strings, lazy registration, entry points and errors."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from bundlekd.errors import ConfigError
from bundlekd.llm import registry
from bundlekd.llm.fake import ScriptedLLM
from bundlekd.llm.openai_compat import OpenAICompatLLM
from bundlekd.llm.transformers_local import TransformersLLM


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_entry_points_loaded", False)


def test_builtin_specs(tmp_path: Path) -> None:
    default = registry.get_llm("smollm2", num_threads=1)
    assert isinstance(default, TransformersLLM)
    assert default.model_id == "smollm2-135m-instruct"
    assert isinstance(registry.get_llm(""), TransformersLLM)

    local = registry.get_llm(f"hf:{tmp_path}", batch_size=2)
    assert local.model_id == str(tmp_path)
    assert local.batch_size == 2

    adapted = registry.get_llm(f"hf:{tmp_path}+adapter:/adapters/rules")
    assert adapted.model_id == f"{tmp_path}+/adapters/rules"
    assert registry.get_llm("smollm2", adapter="/a").model_id == "smollm2-135m-instruct+/a"


def test_openai_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = registry.get_llm("openai:smollm2@http://127.0.0.1:8011/v1", concurrency=2)
    assert isinstance(llm, OpenAICompatLLM)
    assert (llm.model, llm.base_url, llm.concurrency) == ("smollm2", "http://127.0.0.1:8011/v1", 2)

    monkeypatch.setenv("BUNDLEKD_BASE_URL", "http://localhost:9000/v1")
    from_env = registry.get_llm("openai:qwen")
    assert (from_env.model, from_env.base_url) == ("qwen", "http://localhost:9000/v1")
    lora = registry.get_llm("openai:base@http://127.0.0.1:1/v1+adapter:rules-lora")
    assert lora.model == "rules-lora"  # vLLM serves a LoRA under its own name


def test_errors_are_precise(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown LLM backend 'nope'; known: .*hf.*openai.*smollm2"
    ):
        registry.get_llm("nope")
    with pytest.raises(ConfigError, match="'hf:' needs a model folder"):
        registry.get_llm("hf:")
    with pytest.raises(ConfigError, match="takes no argument"):
        registry.get_llm("smollm2:big")
    with pytest.raises(ConfigError, match="openai:MODEL@BASE_URL"):
        registry.get_llm("openai:@http://x")
    with pytest.raises(ConfigError, match="rejected the options"):
        registry.get_llm(f"hf:{tmp_path}", temperature=3)
    with pytest.raises(ConfigError, match="two adapters"):
        registry.get_llm(f"hf:{tmp_path}+adapter:a", adapter="b")
    with pytest.raises(ConfigError, match="does not take adapters"):
        registry.get_llm("langchain+adapter:a", chat_model=object())


def test_register_and_duplicates() -> None:
    registry.register_backend("echo", "bundlekd.llm.fake:ScriptedLLM")
    llm = registry.get_llm("echo", replies=["hi"])
    assert isinstance(llm, ScriptedLLM)
    assert registry.list_backends()["echo"] == "bundlekd.llm.fake:ScriptedLLM"
    with pytest.raises(ConfigError, match="taken"):
        registry.register_backend("echo", "x.y:Z")
    with pytest.raises(ConfigError, match="taken"):
        registry.register_backend("openai", "x.y:Z")
    with pytest.raises(ConfigError, match="module:Class"):
        registry.register_backend("bad", "no_colon")
    registry.register_backend("ghost", "no_such_module_xyz:Thing")
    with pytest.raises(ConfigError, match="cannot be loaded"):
        registry.get_llm("ghost")
    registry.register_backend("notllm", "pathlib:Path")
    with pytest.raises(ConfigError, match="not an LLM subclass"):
        registry.get_llm("notllm")


def test_entry_points_are_read_and_duplicates_refused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    found = [
        EntryPoint("thirdparty", "bundlekd.llm.fake:ScriptedLLM", "bundlekd.llm"),
        EntryPoint("smollm2", "evil.module:Hijack", "bundlekd.llm"),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: found)
    backends = registry.list_backends()
    assert backends["thirdparty"] == "bundlekd.llm.fake:ScriptedLLM"
    assert backends["smollm2"] == "bundlekd.llm.transformers_local:TransformersLLM"
    assert "entry point smollm2 ignored" in caplog.text
    assert registry.get_llm("thirdparty", replies=["a"]).complete([]).text == "a"


def test_naming_backends_imports_no_ml_library() -> None:
    code = (
        "import sys; from bundlekd.llm import get_llm, list_backends; list_backends();"
        "get_llm('smollm2'); get_llm('openai:m@http://127.0.0.1:1/v1');"
        "heavy = ('torch', 'transformers', 'openai', 'xgrammar', 'peft');"
        "heavy = [m for m in heavy if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
