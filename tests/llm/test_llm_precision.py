"""The local model's dtype follows the CPU: bf16 only where it is computed natively."""

from __future__ import annotations

import pytest

from bundlekd.errors import ConfigError
from bundlekd.finetune.sft_config import SFTTrainConfig
from bundlekd.finetune.trainer import resolve_precision
from bundlekd.llm.precision import native_cpu_bf16, resolve_dtype

AVX2_ONLY = {"avx2": True, "avx512_f": False, "avx512_bf16": False, "amx_bf16": False}
SAPPHIRE_RAPIDS = {"avx2": True, "avx512_f": True, "avx512_bf16": True, "amx_bf16": True}
ZEN4 = {"avx2": True, "avx512_f": True, "avx512_bf16": True, "amx_bf16": False}


@pytest.mark.parametrize(
    ("caps", "expected"),
    [(AVX2_ONLY, "float32"), (SAPPHIRE_RAPIDS, "bfloat16"), (ZEN4, "bfloat16")],
)
def test_auto_picks_bf16_only_with_native_support(caps, expected):
    choice = resolve_dtype("auto", "cpu", capabilities=caps, environ={})
    assert choice.dtype == expected
    assert choice.reason


def test_a_process_limited_to_avx2_kernels_is_treated_as_avx2():
    limited = resolve_dtype(
        "auto", "cpu", capabilities=SAPPHIRE_RAPIDS, environ={"ATEN_CPU_CAPABILITY": "avx2"}
    )
    assert limited.dtype == "float32"
    assert "ATEN_CPU_CAPABILITY" in limited.reason
    native, why = native_cpu_bf16(SAPPHIRE_RAPIDS, {"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert not native
    assert "ONEDNN" in why
    assert native_cpu_bf16(SAPPHIRE_RAPIDS, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"})[0]


def test_an_explicit_dtype_wins_and_a_bad_one_is_refused():
    assert resolve_dtype("bfloat16", "cpu", capabilities=AVX2_ONLY).dtype == "bfloat16"
    assert resolve_dtype("float32", "cpu", capabilities=SAPPHIRE_RAPIDS).dtype == "float32"
    with pytest.raises(ConfigError, match="dtype must be one of"):
        resolve_dtype("int8", "cpu", capabilities=AVX2_ONLY)


def test_the_trainer_follows_the_same_rule(monkeypatch):
    import bundlekd.llm.precision as precision

    monkeypatch.setattr(precision, "cpu_capabilities", lambda: AVX2_ONLY)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    lora = SFTTrainConfig(method="lora")
    assert resolve_precision(lora, "cpu").dtype == "float32"  # was bf16 on every CPU
    monkeypatch.setattr(precision, "cpu_capabilities", lambda: SAPPHIRE_RAPIDS)
    assert resolve_precision(lora, "cpu").dtype == "bfloat16"
    assert resolve_precision(SFTTrainConfig(method="full"), "cpu").dtype == "float32"
    assert resolve_precision(SFTTrainConfig(method="lora", bf16=True), "cpu").dtype == "bfloat16"
    assert resolve_precision(SFTTrainConfig(dtype="float32"), "cpu").dtype == "float32"


def test_the_local_backend_and_the_config_default_to_auto(monkeypatch):
    import bundlekd.llm.precision as precision
    from bundlekd.config import load_config
    from bundlekd.llm.transformers_local import TransformersLLM

    config = load_config().config
    assert config.student.dtype == "auto"
    assert config.teacher.dtype == "auto"
    assert config.sft.train.dtype == "auto"
    monkeypatch.setattr(precision, "cpu_capabilities", lambda: AVX2_ONLY)
    runtime = TransformersLLM(device="cpu").runtime()
    assert runtime["dtype"] == "float32"
    assert runtime["device"] == "cpu"
    assert "emulated" in runtime["dtype_reason"]
