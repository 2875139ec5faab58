"""The real default model, SmolLM2-135M-Instruct: convert (once), chat, constrained JSON.

Required in CI: this is the only test that runs the real weights through the local backend.
The first run converts the GGUF (~35 s); later runs reload the cached folder (~2.5 s).
"""

from __future__ import annotations

import json

import pytest

from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.model_store import ensure_default_model, read_manifest
from bundlekd.llm.transformers_local import TransformersLLM

pytest.importorskip("torch")

SCHEMA = {
    "type": "object",
    "properties": {
        "bundles": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {"type": "integer", "enum": [1, 2, 3, 4]},
                        "minItems": 2,
                        "maxItems": 3,
                    },
                    "intent": {"type": "string", "maxLength": 40},
                },
                "required": ["items", "intent"],
            },
        }
    },
    "required": ["bundles"],
}


def test_default_model_chats_and_follows_a_schema() -> None:
    path = ensure_default_model()
    assert read_manifest(path)["model"] == "smollm2-135m-instruct"
    llm = TransformersLLM(num_threads=1)  # 1 beats 2 on a busy shared CPU

    chat = ChatRequest(
        (Message("user", "What is the capital of France? Answer in one sentence."),),
        sampling=Sampling(max_new_tokens=16),
    )
    products = (
        "Products: 1. phone case 2. screen protector 3. tent 4. sleeping bag. "
        'Group them into bundles. Answer as JSON: {"bundles": [{"items": [...], "intent": "..."}]}'
    )
    constrained = ChatRequest(
        (Message("user", products),), sampling=Sampling(max_new_tokens=96), json_schema=SCHEMA
    )
    reply, answer = llm.generate([chat, constrained])

    assert "Paris" in reply.text
    assert reply.finish_reason in {"stop", "length"}
    assert 1 <= reply.completion_tokens <= 16
    assert reply.prompt_tokens > 10
    assert reply.model == "smollm2-135m-instruct"

    assert answer.finish_reason == "stop", answer.text
    parsed = json.loads(answer.text)
    assert 1 <= len(parsed["bundles"]) <= 2
    for bundle in parsed["bundles"]:
        assert 2 <= len(bundle["items"]) <= 3
        assert set(bundle["items"]) <= {1, 2, 3, 4}
        assert len(bundle["intent"]) <= 40
