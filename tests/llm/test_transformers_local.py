"""TransformersLLM on the tiny random Llama: batching, padding, counts, sampling, adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundlekd.errors import ConfigError
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.transformers_local import TransformersLLM

pytest.importorskip("torch")

PROMPTS = [
    "hi",
    "Group these products into bundles: 1. phone case 2. charger 3. tent 4. sleeping bag",
    "What goes with a laptop?",
]


def _request(text: str, **sampling: object) -> ChatRequest:
    return ChatRequest(messages=(Message("user", text),), sampling=Sampling(**sampling))


@pytest.fixture(scope="module")
def tiny_llm(tiny_model_dir: Path) -> TransformersLLM:
    llm = TransformersLLM(tiny_model_dir, dtype="float32", num_threads=1, batch_size=8)
    llm.load()
    return llm


def test_batch_shapes_counts_and_finish_reason(tiny_llm: TransformersLLM) -> None:
    requests = [_request(text, max_new_tokens=12) for text in PROMPTS]
    completions = tiny_llm.generate(requests)

    assert len(completions) == 3
    prompt_lengths = [
        len(tiny_llm._tokenizer(tiny_llm.prompt_text(r))["input_ids"]) for r in requests
    ]
    assert [c.prompt_tokens for c in completions] == prompt_lengths
    assert len(set(prompt_lengths)) == 3  # different lengths, so the batch really is padded
    for completion in completions:
        assert completion.model == str(tiny_llm._path)
        assert completion.latency_s > 0
        assert completion.error is None
        if completion.finish_reason == "length":
            assert completion.completion_tokens == 12
        else:
            assert completion.finish_reason == "stop"
            assert 1 <= completion.completion_tokens <= 12
    # A random model almost never says <|im_end|> within 12 tokens.
    assert any(c.finish_reason == "length" for c in completions)


def test_left_padded_batch_equals_one_at_a_time_greedy(tiny_llm: TransformersLLM) -> None:
    requests = [_request(text, max_new_tokens=10) for text in PROMPTS]
    batched = tiny_llm.generate(requests)
    single = [tiny_llm.generate([request])[0] for request in requests]

    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.completion_tokens for c in batched] == [c.completion_tokens for c in single]
    assert all(c.text for c in batched)


def test_results_keep_request_order_across_groups_and_batches(tiny_llm: TransformersLLM) -> None:
    tiny_llm.batch_size = 2
    try:
        requests = [
            _request(PROMPTS[0], max_new_tokens=4),
            _request(PROMPTS[1], max_new_tokens=6),
            _request(PROMPTS[2], max_new_tokens=4),
            _request(PROMPTS[0], max_new_tokens=6),
            _request(PROMPTS[1], max_new_tokens=4),
        ]
        mixed = tiny_llm.generate(requests)
    finally:
        tiny_llm.batch_size = 8
    alone = [tiny_llm.generate([r])[0] for r in requests]
    assert [c.text for c in mixed] == [c.text for c in alone]
    assert [c.completion_tokens for c in mixed] == [4, 6, 4, 6, 4]


def test_seeded_sampling_is_reproducible_and_differs_from_greedy(
    tiny_llm: TransformersLLM,
) -> None:
    sampled = [_request(PROMPTS[1], max_new_tokens=16, temperature=1.0, seed=7)] * 2
    first = tiny_llm.generate(sampled)
    second = tiny_llm.generate(sampled)
    greedy = tiny_llm.generate([_request(PROMPTS[1], max_new_tokens=16)])[0]

    assert [c.text for c in first] == [c.text for c in second]
    assert first[0].text != greedy.text


def test_empty_batch_and_bad_options(tiny_model_dir: Path) -> None:
    assert TransformersLLM(tiny_model_dir).generate([]) == []
    with pytest.raises(ConfigError, match="dtype"):
        TransformersLLM(tiny_model_dir, dtype="int8")
    with pytest.raises(ConfigError, match="not an HF model folder"):
        TransformersLLM(tiny_model_dir / "nope").generate([_request("x", max_new_tokens=1)])


def test_lora_adapter_switches_per_request(tiny_model_dir: Path, tmp_path: Path) -> None:
    peft = pytest.importorskip("peft")
    import torch
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    config = peft.LoraConfig(
        r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False, lora_alpha=64
    )
    adapter_dir = tmp_path / "adapter"
    torch.manual_seed(1)
    peft.get_peft_model(base, config).save_pretrained(adapter_dir)

    llm = TransformersLLM(tiny_model_dir, dtype="float32", num_threads=1)
    plain = _request(PROMPTS[1], max_new_tokens=8)
    tuned = ChatRequest(plain.messages, plain.sampling, adapter=str(adapter_dir))
    before = llm.generate([plain])[0]
    mixed = llm.generate([plain, tuned, plain])

    assert mixed[0].text == mixed[2].text == before.text  # base requests bypass the adapter
    assert mixed[1].text != before.text
    assert mixed[1].model.endswith(f"@{adapter_dir}")

    with_default = TransformersLLM(tiny_model_dir, adapter=adapter_dir, dtype="float32")
    assert with_default.generate([plain])[0].text == mixed[1].text
    assert with_default.model_id.endswith(f"+{adapter_dir}")
    with pytest.raises(ConfigError, match="not a folder"):
        llm.generate([ChatRequest(plain.messages, plain.sampling, adapter="/no/such/adapter")])


def test_count_tokens_uses_the_tokenizer_without_loading_weights(tiny_model_dir: Path) -> None:
    llm = TransformersLLM(tiny_model_dir, dtype="float32", num_threads=1)
    text = "Group these products into bundles: 1. phone case 2. charger"
    count = llm.count_tokens(text)
    assert llm._model is None  # the tokenizer alone was loaded
    assert count == len(llm._tokenizer(text, add_special_tokens=False)["input_ids"])
    assert 0 < count < len(text)
    assert llm.count_tokens("") == 0


def test_token_budget_batches_bound_the_padded_prompt_size() -> None:
    from bundlekd.llm.transformers_local import token_budget_batches

    lengths = {0: 100, 1: 120, 2: 150, 3: 900, 4: 1000, 5: 5000}
    order = sorted(lengths, key=lengths.get)
    batches = token_budget_batches(order, lengths, max_rows=8, max_tokens=2000)
    assert batches == [[0, 1, 2], [3, 4], [5]]  # 4 x 900 > 2000; 2 x 1000 fits; 5000 alone
    for batch in batches[:-1]:
        assert len(batch) * max(lengths[i] for i in batch) <= 2000 or len(batch) == 1
    assert token_budget_batches(order, lengths, max_rows=2, max_tokens=10**6) == [
        [0, 1],
        [2, 3],
        [4, 5],
    ]
