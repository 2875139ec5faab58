"""xgrammar-constrained decoding on the tiny random model: gibberish weights, valid JSON."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bundlekd.errors import ConfigError
from bundlekd.llm import structured
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.transformers_local import TransformersLLM

pytest.importorskip("torch")
pytest.importorskip("xgrammar")

# Every array and string is bounded, so any path through the grammar ends within ~120 tokens.
BUNDLES_SCHEMA = {
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
                        "items": {"type": "integer", "enum": [1, 2, 3, 4]},
                        "minItems": 1,
                        "maxItems": 3,
                    },
                    "intent": {"type": "string", "enum": ["travel", "office", "camping"]},
                },
                "required": ["items", "intent"],
            },
        }
    },
    "required": ["bundles"],
}
TINY_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
}


def _request(
    text: str, schema: dict | None, max_new_tokens: int = 160, **kw: object
) -> ChatRequest:
    return ChatRequest(
        messages=(Message("user", text),),
        sampling=Sampling(max_new_tokens=max_new_tokens, **kw),
        json_schema=schema,
    )


@pytest.fixture(scope="module")
def tiny_llm(tiny_model_dir: Path) -> TransformersLLM:
    return TransformersLLM(tiny_model_dir, dtype="float32", num_threads=1)


def _check_bundles(obj: dict) -> None:
    assert set(obj) == {"bundles"}
    assert len(obj["bundles"]) <= 2
    for bundle in obj["bundles"]:
        assert list(bundle) == ["items", "intent"]  # the schema's property order is kept
        assert 1 <= len(bundle["items"]) <= 3
        assert set(bundle["items"]) <= {1, 2, 3, 4}
        assert bundle["intent"] in {"travel", "office", "camping"}


def test_constrained_batch_is_valid_json(tiny_llm: TransformersLLM) -> None:
    prompts = ["Bundle: 1. tent 2. stove", "Group 1. pen 2. paper 3. stapler 4. mug", "x"]
    requests = [_request(p, BUNDLES_SCHEMA) for p in prompts]
    requests.append(_request("y", BUNDLES_SCHEMA, temperature=1.0, seed=3))
    completions = tiny_llm.generate(requests)

    assert tiny_llm.supports_json_schema
    for completion in completions:
        if completion.finish_reason == "length":  # only a cut-off output may be invalid
            assert completion.completion_tokens == 160
            continue
        assert completion.finish_reason == "stop"
        _check_bundles(json.loads(completion.text))
    assert sum(c.finish_reason == "stop" for c in completions) >= 3


def test_mixed_schemas_in_one_batch_are_grouped(tiny_llm: TransformersLLM) -> None:
    requests = [
        _request("Is it raining?", TINY_SCHEMA, max_new_tokens=20),
        _request("Bundle: 1. tent 2. stove", BUNDLES_SCHEMA),
        _request("free text please", None, max_new_tokens=8),
        _request("Are you sure?", TINY_SCHEMA, max_new_tokens=20),
    ]
    completions = tiny_llm.generate(requests)

    for index in (0, 3):
        assert json.loads(completions[index].text)["answer"] in {"yes", "no"}
        assert completions[index].finish_reason == "stop"  # the grammar ended, then EOS
        assert completions[index].completion_tokens < 20
    _check_bundles(json.loads(completions[1].text))
    assert completions[2].finish_reason == "length"
    assert completions[2].completion_tokens == 8


def test_truncated_constrained_output_reports_length(tiny_llm: TransformersLLM) -> None:
    completion = tiny_llm.generate([_request("Bundle: 1. tent", BUNDLES_SCHEMA, 5)])[0]
    assert completion.finish_reason == "length"
    assert completion.completion_tokens == 5
    assert '{"bundles":'.startswith(completion.text) or completion.text.startswith('{"bundles":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(completion.text)


def test_schema_compiled_once_and_bad_schema_refused(tiny_llm: TransformersLLM) -> None:
    tiny_llm.load()
    constrainer = tiny_llm._constrainer
    first = constrainer.compile(TINY_SCHEMA)
    assert constrainer.compile(dict(TINY_SCHEMA)) is first
    assert constrainer.logits_processor(TINY_SCHEMA) is not constrainer.logits_processor(
        TINY_SCHEMA
    )
    assert constrainer.logits_processor(None) is None
    with pytest.raises(ConfigError, match="json_schema cannot be compiled"):
        constrainer.compile({"type": "no-such-type"})


def test_without_xgrammar_falls_back_to_unconstrained(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(structured, "xgrammar_available", lambda: False)
    monkeypatch.setattr(structured, "_warned_missing", False)
    import bundlekd.llm.transformers_local as local

    monkeypatch.setattr(local, "xgrammar_available", lambda: False)
    llm = TransformersLLM(tiny_model_dir, dtype="float32", num_threads=1)
    assert llm.supports_json_schema is False
    with caplog.at_level(logging.WARNING, logger="bundlekd.llm.structured"):
        constrained = llm.generate([_request("x", TINY_SCHEMA, max_new_tokens=6)])[0]
    plain = llm.generate([_request("x", None, max_new_tokens=6)])[0]
    assert constrained.text == plain.text  # no grammar applied
    assert "json_schema ignored" in caplog.text
