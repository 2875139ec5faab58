"""Rows with different JSON schemas share one generate() call (one grammar per row)."""

from __future__ import annotations

import json

from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.transformers_local import TransformersLLM


def _schema(n: int) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, n + 1))},
                "minItems": 1,
                "maxItems": 2,
            }
        },
        "required": ["items"],
        "additionalProperties": False,
    }


def test_mixed_schemas_in_one_batch_each_row_obeys_its_own(tiny_model_dir) -> None:
    llm = TransformersLLM(str(tiny_model_dir), dtype="float32", num_threads=1, batch_size=4)
    calls = []
    original = llm._generate_batch

    def spy(batch, prompts, sampling, schemas, adapter):  # type: ignore[no-untyped-def]
        calls.append(len(batch))
        return original(batch, prompts, sampling, schemas, adapter)

    llm._generate_batch = spy  # type: ignore[method-assign]
    requests = [
        ChatRequest(
            messages=(Message("user", f"pick products {n}"),),
            sampling=Sampling(max_new_tokens=24),
            json_schema=_schema(n),
        )
        for n in (2, 3, 2, 5)
    ]
    completions = llm.generate(requests)
    assert calls == [4], "the four rows should go out as one batch"
    for n, completion in zip((2, 3, 2, 5), completions, strict=True):
        if completion.finish_reason == "stop":
            items = json.loads(completion.text)["items"]
            assert all(1 <= i <= n for i in items)
        else:  # cut off by max_new_tokens: still a prefix of the grammar
            assert completion.text.startswith('{"items":')
