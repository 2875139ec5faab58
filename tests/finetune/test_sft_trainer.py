"""`finetune train` on a tiny random Llama: completion-only loss, loss falls, adapters
round-trip through the local backend, resume, full tuning, the device option."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.agent.config import AgentConfig
from bundlekd.data.sources import load_sample
from bundlekd.errors import ConfigError
from bundlekd.finetune.adapter_card import read_card
from bundlekd.finetune.sft_batches import collate, completion_loss, encode_row
from bundlekd.finetune.sft_config import SFTDataConfig, SFTTrainConfig
from bundlekd.finetune.sft_data import build_sft_rows, write_sft_data
from bundlekd.finetune.trainer import BaseModelRef, train_sft

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def sft_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = load_sample()
    # A few electronic sessions: small enough to overfit in a few steps.
    train = [s for s in dataset.split("train") if s.domain == "electronic"][:4]
    val = [s for s in dataset.split("val") if s.domain == "electronic"][:2]
    cfg = SFTDataConfig(augment=1)
    generation = AgentConfig(max_new_tokens=24)  # short val answers: the model is random
    path = tmp_path_factory.mktemp("sft") / "sft.jsonl"
    rows = build_sft_rows(train, val, generation, cfg)
    write_sft_data(path, rows, generation=generation, cfg=cfg, source={"source": "sample"})
    return path


def _answer_loss(model, sft_file: Path) -> float:  # type: ignore[no-untyped-def]
    """Mean completion loss of the file's training rows under `model`."""
    from bundlekd.finetune.sft_batches import encode_rows
    from bundlekd.finetune.sft_data import read_sft_data

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model.config._name_or_path))
    rows = [r for r in read_sft_data(sft_file)[0] if r["split"] == "train"]
    encoded, _ = encode_rows(tokenizer, rows, 4096)
    model.eval()
    with torch.no_grad():
        return float(completion_loss(model, collate(encoded, pad_id=0)))


def _scorer(predictions, gold):  # type: ignore[no-untyped-def]
    return {"precision": 0.5, "recall": 0.5, "valid": float(all(p.parsed for p in predictions))}


def _cfg(**changes) -> SFTTrainConfig:  # type: ignore[no-untyped-def]
    settings = {
        "epochs": 2, "batch_size": 4, "learning_rate": 1e-2, "lora_rank": 8, "lora_alpha": 16,
        "lora_dropout": 0.0, "warmup_ratio": 0.0, "schedule": "constant", "device": "cpu",
        "bf16": False, "threads": 1, "eval_sessions": 2,
    }  # fmt: skip
    return SFTTrainConfig(**{**settings, **changes})


def test_only_the_answer_is_supervised_and_the_loss_matches_the_model(
    tiny_model_dir: Path,
) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_model_dir))
    messages = [{"role": "system", "content": "Group."}, {"role": "user", "content": "1. a"}]
    answer = '{"bundles": []}'
    row = encode_row(tokenizer, messages, answer)
    batch = collate([row, encode_row(tokenizer, messages[1:], answer)], pad_id=0)
    supervised = batch["labels"][0][batch["labels"][0] != -100].tolist()
    assert tokenizer.decode(supervised) == answer + "<|im_end|>\n"  # answer + end of turn
    # The prompt part is the inference prompt, token for token.
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert (
        list(row.input_ids[: row.n_prompt])
        == tokenizer(prompt, add_special_tokens=False)["input_ids"]
    )
    model = transformers.AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    with torch.no_grad():
        ours = completion_loss(model, batch)
        theirs = model(**batch).loss  # logits at every position: the reference
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)


def test_tiny_lora_loss_falls_and_the_adapter_round_trips(
    tiny_model_dir: Path, sft_file: Path, tmp_path: Path
) -> None:
    from peft import PeftModel

    from bundlekd.llm.registry import get_llm

    out = tmp_path / "lora"
    base = BaseModelRef(path=tiny_model_dir, spec=f"hf:{tiny_model_dir}")
    card = train_sft(sft_file, out, _cfg(epochs=3), base=base, scorer=_scorer, command="x")
    epochs = card["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["last_loss"] < epochs[0]["first_loss"]
    assert all(e["val"]["valid"] in (0.0, 1.0) for e in epochs)
    assert card["kind"] == "lora-adapter"
    assert card["lora"]["rank"] == 8
    assert card["best_epoch"] == 1  # ties go to the earliest epoch
    assert (
        card["data_hash"] == json.loads(Path(f"{sft_file}.manifest.json").read_text())["data_hash"]
    )
    assert read_card(out) == card
    # Save/load round trip: the kept adapter is epoch 1's, and it changes the base's output.
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    model = transformers.AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    with torch.no_grad():
        plain = model(ids).logits
        tuned = PeftModel.from_pretrained(model, str(out)).eval()(ids).logits
        epoch1 = (
            PeftModel.from_pretrained(
                transformers.AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
                str(out / "checkpoints" / "epoch-1"),
            )
            .eval()(ids)
            .logits
        )
    assert torch.equal(tuned, epoch1)
    assert not torch.allclose(plain, tuned)
    # It learned: the answer loss on the training rows fell (same rows, before vs after).
    last = PeftModel.from_pretrained(
        transformers.AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
        str(out / "checkpoints" / "epoch-3"),
    )
    fresh = transformers.AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    before, after = _answer_loss(fresh, sft_file), _answer_loss(last, sft_file)
    assert after < before - 0.3, (before, after)
    # The local backend loads it by spec (`<base>+adapter:DIR`) and answers in JSON.
    llm = get_llm(f"hf:{tiny_model_dir}+adapter:{out}", dtype="float32", num_threads=1)
    from bundlekd.agent.student import StudentAgent

    session = load_sample().split("test")[0]
    prediction = StudentAgent(llm, AgentConfig(mode="zero_shot", max_new_tokens=24)).generate(
        [session]
    )[0]
    assert prediction.raw.startswith("{")
    llm.close()
    # Finished: a second call does not train again.
    assert train_sft(sft_file, out, _cfg(epochs=3), base=base, scorer=_scorer) == card
    with pytest.raises(ConfigError, match="other data or settings"):
        train_sft(sft_file, out, _cfg(epochs=3, learning_rate=1e-3), base=base)


def test_an_interrupted_run_resumes_at_the_next_epoch(
    tiny_model_dir: Path, sft_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lora"
    base = BaseModelRef(path=tiny_model_dir, spec=f"hf:{tiny_model_dir}")
    cfg = _cfg(eval_sessions=0)
    full = train_sft(sft_file, tmp_path / "uninterrupted", cfg, base=base)
    assert full["best_epoch"] == 2  # no validation: the last epoch

    def crash(epoch: int, step: int, steps: int, loss: float) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_sft(sft_file, out, cfg, base=base, progress=crash)
    assert not (out / "adapter_card.json").exists()
    assert (out / "checkpoints" / "epoch-1" / "trainer_state.pt").is_file()
    before = json.loads((out / "checkpoints" / "history.json").read_text())
    resumed = train_sft(sft_file, out, cfg, base=base)
    assert resumed["epochs"][0] == before[0]  # epoch 1 was not trained again
    assert before[0]["loss"] == pytest.approx(full["epochs"][0]["loss"], rel=1e-5)
    assert resumed["epochs"][1]["epoch"] == 2
    assert resumed["epochs"][1]["loss"] == pytest.approx(full["epochs"][1]["loss"], rel=1e-4)
    assert not (out / "checkpoints" / "epoch-1" / "trainer_state.pt").exists()  # superseded
    assert not (out / "trainer_state.pt").exists()  # the output is the adapter only


def test_full_fine_tuning_writes_a_servable_model_folder(
    tiny_model_dir: Path, sft_file: Path, tmp_path: Path
) -> None:
    from bundlekd.llm.transformers_local import TransformersLLM

    out = tmp_path / "full"
    base = BaseModelRef(path=tiny_model_dir, spec=f"hf:{tiny_model_dir}")
    cfg = _cfg(method="full", epochs=1, learning_rate=1e-3, eval_sessions=0, max_steps=2)
    card = train_sft(sft_file, out, cfg, base=base)
    assert card["kind"] == "full-model"
    assert card["lora"] is None
    assert card["epochs"][0]["steps"] == 2  # max_steps
    assert card["trainable_parameters"] > 1_000_000
    assert (out / "config.json").is_file()
    assert (out / "tokenizer_config.json").is_file()
    llm = TransformersLLM(out, dtype="float32", num_threads=1, device="cpu")
    assert llm.count_tokens("hello world") > 0
    llm.close()


def test_device_cuda_without_a_gpu_is_a_clear_error(
    tiny_model_dir: Path, sft_file: Path, tmp_path: Path
) -> None:
    from bundlekd.errors import BackendUnavailableError
    from bundlekd.llm.transformers_local import resolve_device

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert resolve_device("auto") == "cpu"
    base = BaseModelRef(path=tiny_model_dir, spec=f"hf:{tiny_model_dir}")
    with pytest.raises(BackendUnavailableError, match="no CUDA GPU"):
        train_sft(sft_file, tmp_path / "x", _cfg(device="cuda"), base=base)


def test_gradient_checkpointing_changes_memory_not_the_loss(
    tiny_model_dir: Path, sft_file: Path, tmp_path: Path
) -> None:
    base = BaseModelRef(path=tiny_model_dir, spec=f"hf:{tiny_model_dir}")
    cfg = _cfg(epochs=1, max_steps=2, eval_sessions=0)
    plain = train_sft(sft_file, tmp_path / "plain", cfg, base=base)
    saved = train_sft(
        sft_file, tmp_path / "ckpt", cfg.model_copy(update={"gradient_checkpointing": True}),
        base=base,
    )  # fmt: skip
    assert saved["epochs"][0]["loss"] == pytest.approx(plain["epochs"][0]["loss"], rel=1e-5)
