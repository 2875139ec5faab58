"""The service in agent mode with the real default model (SmolLM2-135M): concurrent requests
are answered from shared model calls, each with the LLM's intents."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from service_helpers import client_for, session_body

from bundlekd.errors import BackendUnavailableError

pytestmark = pytest.mark.slow  # model load + one batched generation on a shared CPU


def test_agent_mode_batches_concurrent_requests_into_real_model_calls(tiny_kb: Path) -> None:
    from bundlekd.app.service.runtime import load_runtime
    from bundlekd.config import load_config

    overrides = {"kb.dir": tiny_kb, "generation.mode": "agent", "student.threads": 1}
    config = load_config(None, overrides, environ={}).config

    def load() -> Any:
        try:
            return load_runtime(config)
        except BackendUnavailableError as exc:
            pytest.skip(f"default model unavailable: {exc}")

    runtime = load()
    domains = ["electronic", "food", "clothing"]
    with (
        client_for(tiny_kb, lambda: runtime, batch_wait_ms=500, request_timeout_s=300) as client,
        ThreadPoolExecutor(3) as pool,
    ):
        ready = client.get("/ready").json()
        answers = list(
            pool.map(
                lambda d: client.post("/v1/bundles", json={"session": session_body(d, d)}),
                domains,
            )
        )
        tool = client.post("/v1/bundles", json={"session": session_body(), "mode": "tool"})
        metrics = client.get("/metrics").text
    assert ready["modes"] == ["agent", "tool"]
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    for answer in answers:
        prediction = answer.json()["predictions"][0]
        assert prediction["method"].startswith("agent-name")
        assert prediction["bundles"]
        assert all(b["intent"].strip() for b in prediction["bundles"])
    assert tool.json()["mode"] == "tool"
    calls = re.search(r'bundlekd_batch_sessions_count\{mode="agent"\} (\S+)', metrics)
    assert calls is not None
    assert float(calls.group(1)) < 3
