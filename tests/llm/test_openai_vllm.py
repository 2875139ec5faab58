"""OpenAICompatLLM against a real vLLM OpenAI server (scripts/vllm/serve.sh default).

Runs only when BUNDLEKD_VLLM_URL is set (e.g. http://127.0.0.1:8011/v1); the served base model
name comes from BUNDLEKD_VLLM_MODEL (default "smollm2"), an optional LoRA name from
BUNDLEKD_VLLM_LORA.
"""

from __future__ import annotations

import json
import os

import pytest

from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.registry import get_llm

pytestmark = pytest.mark.vllm

SCHEMA = {
    "type": "object",
    "properties": {
        "bundles": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "maxItems": 3,
                        "items": {"type": "integer", "enum": [1, 2, 3, 4]},
                    },
                    "intent": {"type": "string", "maxLength": 30},
                },
                "required": ["items", "intent"],
            },
        }
    },
    "required": ["bundles"],
}


@pytest.fixture
def vllm_url() -> str:
    url = os.environ.get("BUNDLEKD_VLLM_URL")
    if not url:
        pytest.skip("BUNDLEKD_VLLM_URL is unset: no real vLLM server to test against")
    return url


def test_real_vllm_chat_schema_and_lora(vllm_url: str) -> None:
    model = os.environ.get("BUNDLEKD_VLLM_MODEL", "smollm2")
    llm = get_llm(f"openai:{model}@{vllm_url}", timeout_s=120)
    served = llm.ping()
    assert model in served

    chat = ChatRequest((Message("user", "Capital of France?"),), Sampling(max_new_tokens=8))
    products = "Products: 1. phone case 2. screen protector 3. tent 4. sleeping bag. Bundle them."
    constrained = ChatRequest(
        (Message("user", products),), Sampling(max_new_tokens=96), json_schema=SCHEMA
    )
    reply, answer = llm.generate([chat, constrained])
    assert reply.error is None
    assert 1 <= reply.completion_tokens <= 8
    assert reply.prompt_tokens > 5
    assert answer.finish_reason == "stop", answer.text
    assert len(json.loads(answer.text)["bundles"]) <= 2

    lora = os.environ.get("BUNDLEKD_VLLM_LORA")
    if lora:
        assert lora in served
        tuned = llm.generate([ChatRequest(chat.messages, chat.sampling, adapter=lora)])[0]
        assert tuned.error is None
        assert tuned.model == lora
