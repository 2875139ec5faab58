"""The service's HTTP contract, in process (TestClient) on the tiny KB in tool mode."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from service_helpers import client_for, rule, session_body


def _files(kb_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(kb_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(kb_dir.rglob("*"))
        if p.is_file()
    }


def test_bundles_for_one_session_and_a_list_with_positions_and_knowledge_ids(
    tiny_kb: Path,
) -> None:
    with client_for(tiny_kb) as client:
        one = client.post("/v1/bundles", json={"session": session_body("a")})
        many = client.post(
            "/v1/bundles",
            json={"sessions": [session_body("b"), session_body("c", "food")], "mode": "tool"},
        )
    assert one.status_code == 200, one.text
    prediction = one.json()["predictions"][0]
    assert one.json()["mode"] == "tool"
    assert prediction["session_id"] == "a"
    assert prediction["bundles"]
    assert all(b["intent"] for b in prediction["bundles"])
    ids = [i["item_id"] for i in session_body()["items"]]
    for bundle in prediction["bundles"]:
        assert [ids[p - 1] for p in bundle["positions"]] == bundle["items"]
    assert prediction["proposals"] == prediction["bundles"]
    assert prediction["knowledge_ids"]
    assert many.status_code == 200
    assert [p["session_id"] for p in many.json()["predictions"]] == ["b", "c"]
    # same session, same bundles: the list path batches, it does not change answers
    assert many.json()["predictions"][0]["bundles"] == prediction["bundles"]


def test_limits_name_the_field(tiny_kb: Path) -> None:
    session = session_body()
    with client_for(tiny_kb, max_sessions=2, max_items=3, max_title_chars=200) as client:
        too_many = client.post("/v1/bundles", json={"sessions": [session] * 3})
        too_long = client.post("/v1/bundles", json={"session": session})
        neither = client.post("/v1/bundles", json={})
        dupes = client.post(
            "/v1/bundles",
            json={"session": {**session, "items": [session["items"][0]] * 2}},
        )
        small = {**session, "items": session["items"][:3]}
        mode = client.post("/v1/bundles", json={"session": small, "mode": "icl"})
        bad_mode = client.post("/v1/bundles", json={"session": small, "mode": "nope"})
        title = client.post(
            "/v1/bundles",
            json={
                "session": {
                    **small,
                    "items": [*small["items"][:2], {"item_id": "z", "title": "t" * 201}],
                }
            },
        )
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "sessions"]
    assert "max_sessions" in too_many.json()["detail"][0]["msg"]
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["body", "session", "items"]
    assert neither.status_code == 422
    assert "exactly one" in neither.text
    assert dupes.status_code == 422
    assert "unique" in dupes.text
    assert mode.status_code == 422
    assert mode.json()["detail"][0]["loc"] == ["body", "mode"]
    assert bad_mode.status_code == 422
    assert "input" not in bad_mode.json()["detail"][0]
    assert title.json()["detail"][0]["loc"] == ["body", "session", "items", 2, "title"]


def test_a_body_over_the_limit_is_413_even_without_content_length(tiny_kb: Path) -> None:
    big = {"session": {**session_body(), "session_id": "x" * 3000}}
    with client_for(tiny_kb, max_body_bytes=2048) as client:
        declared = client.post("/v1/bundles", json=big)
        chunked = client.post(
            "/v1/bundles",
            content=iter([b'{"session": ', b" " * 3000, b"}"]),
            headers={"content-type": "application/json"},
        )
        fine = client.post("/v1/bundles", json={"session": session_body()})
    assert declared.status_code == 413
    assert "max_body_bytes" in declared.json()["detail"][0]["msg"]
    assert chunked.status_code == 413
    assert fine.status_code == 200


def test_a_body_that_trickles_in_is_refused_with_408() -> None:
    import asyncio

    from bundlekd.app.service.metrics import ServiceMetrics
    from bundlekd.app.service.middleware import GuardMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never reached
        raise AssertionError("the route ran")

    parts = [b'{"session": ', b"{}}"]

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.3)  # a client that sends a chunk every 0.3 s
        body = parts.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = GuardMiddleware(
        app, max_body_bytes=10_000, metrics=ServiceMetrics(), body_timeout_s=0.4
    )
    scope = {"type": "http", "method": "POST", "headers": [], "path": "/v1/bundles"}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 408
    assert b"not received in 0.4 s" in sent[1]["body"]


def test_api_key_from_the_environment(tiny_kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUNDLEKD_API_KEY", "s3cret")
    with client_for(tiny_kb) as client:
        missing = client.post("/v1/bundles", json={"session": session_body()})
        wrong = client.get("/v1/knowledge/search", params={"q": "x"}, headers={"X-API-Key": "no"})
        right = client.post(
            "/v1/bundles", json={"session": session_body()}, headers={"X-API-Key": "s3cret"}
        )
        health = client.get("/health")
        docs = client.get("/openapi.json")
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert health.status_code == 200
    assert docs.status_code == 200
    assert "X-API-Key" in str(docs.json()["components"]["securitySchemes"])


def test_non_loopback_binding_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from bundlekd.app.service.server import check_binding
    from bundlekd.app.service.settings import ServiceSettings
    from bundlekd.errors import ConfigError

    monkeypatch.delenv("BUNDLEKD_API_KEY", raising=False)
    assert ServiceSettings().host == "127.0.0.1"
    check_binding(ServiceSettings())
    with pytest.raises(ConfigError, match="BUNDLEKD_API_KEY"):
        check_binding(ServiceSettings(host="0.0.0.0"))
    monkeypatch.setenv("BUNDLEKD_API_KEY", "k")
    check_binding(ServiceSettings(host="0.0.0.0"))


def test_ready_only_once_loaded_and_503_with_retry_after_before(tiny_kb: Path) -> None:
    from bundlekd.app.service.runtime import load_runtime
    from bundlekd.config import load_config

    go = threading.Event()
    config = load_config(None, {"kb.dir": tiny_kb}, environ={}).config

    def slow_loader() -> Any:
        assert go.wait(30)
        return load_runtime(config)

    with client_for(tiny_kb, slow_loader, background=True) as client:
        assert client.get("/health").status_code == 200
        loading = client.get("/ready")
        early = client.post("/v1/bundles", json={"session": session_body()})
        go.set()
        deadline = time.monotonic() + 30
        while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        ready = client.get("/ready")
    assert loading.status_code == 503
    assert loading.headers["Retry-After"] == "1"
    assert loading.json()["ready"] is False
    assert loading.json()["detail"] == "loading"
    assert early.status_code == 503
    assert "Retry-After" in early.headers
    assert ready.status_code == 200
    assert ready.json()["modes"] == ["tool"]


class _SlowRuntime:
    """Wraps a runtime: each model call sleeps first and is counted."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.calls: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, mode: str, sessions: list[Any]) -> list[Any]:
        self.calls.append(len(sessions))
        time.sleep(self.delay_s)
        return self.inner.generate(mode, sessions)


def _slow_loader(kb_dir: Path, delay_s: float) -> tuple[Any, list[_SlowRuntime]]:
    from bundlekd.app.service.runtime import load_runtime
    from bundlekd.config import load_config

    config = load_config(None, {"kb.dir": kb_dir}, environ={}).config
    made: list[_SlowRuntime] = []

    def load() -> Any:
        made.append(_SlowRuntime(load_runtime(config), delay_s))
        return made[-1]

    return load, made


def test_overload_is_a_declared_503_not_an_unbounded_queue(tiny_kb: Path) -> None:
    load, _ = _slow_loader(tiny_kb, 0.5)
    with (
        client_for(tiny_kb, load, max_queue_sessions=2, max_sessions=2) as client,
        ThreadPoolExecutor(6) as pool,
    ):
        answers = list(
            pool.map(
                lambda n: client.post("/v1/bundles", json={"session": session_body(f"s{n}")}),
                range(6),
            )
        )
        metrics = client.get("/metrics").text
    codes = sorted(a.status_code for a in answers)
    assert 200 in codes
    assert 503 in codes
    assert set(codes) <= {200, 503}
    refused = [a for a in answers if a.status_code == 503]
    assert all(a.headers["Retry-After"] == "1" and "overloaded" in a.text for a in refused)
    assert 'bundlekd_errors_total{kind="overload"}' in metrics


def test_requests_past_max_in_flight_get_503_before_their_body_is_read(tiny_kb: Path) -> None:
    load, _ = _slow_loader(tiny_kb, 0.4)
    with client_for(tiny_kb, load, max_in_flight=2) as client, ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(
                lambda n: client.post("/v1/bundles", json={"session": session_body(f"s{n}")}),
                range(5),
            )
        )
        health = client.get("/health")  # operations are never refused
    refused = [a for a in answers if a.status_code == 503]
    assert refused
    assert len(refused) < 5
    assert all("max_in_flight" in a.json()["detail"] for a in refused)
    assert all(a.headers["Retry-After"] == "1" for a in refused)
    assert health.status_code == 200


def test_a_slow_request_times_out_with_503(tiny_kb: Path) -> None:
    load, _ = _slow_loader(tiny_kb, 1.0)
    with client_for(tiny_kb, load, request_timeout_s=0.2) as client:
        answer = client.post("/v1/bundles", json={"session": session_body()})
    assert answer.status_code == 503
    assert "request_timeout_s" in answer.text
    assert answer.headers["Retry-After"] == "1"


def test_concurrent_requests_share_model_calls(tiny_kb: Path) -> None:
    load, made = _slow_loader(tiny_kb, 0.3)
    with client_for(tiny_kb, load) as client, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda n: client.post("/v1/bundles", json={"session": session_body(f"s{n}")}),
                range(8),
            )
        )
    assert [a.status_code for a in answers] == [200] * 8
    assert [a.json()["predictions"][0]["session_id"] for a in answers] == [
        f"s{n}" for n in range(8)
    ]
    calls = made[0].calls
    assert sum(calls) == 8
    assert len(calls) < 8


def test_agent_mode_micro_batches_concurrent_requests_into_one_llm_call(tiny_kb: Path) -> None:
    import json

    from bundlekd.agent.config import AgentConfig
    from bundlekd.agent.tool_agent import ToolAgent
    from bundlekd.app.service.runtime import Runtime
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.fake import ScriptedLLM

    class CountingLLM(ScriptedLLM):
        def __init__(self) -> None:
            def reply(request: Any) -> str:
                n = request.json_schema["properties"]["intents"]["minItems"]
                return json.dumps({"intents": [f"named {i}" for i in range(n)]})

            super().__init__(reply)
            self.calls: list[int] = []

        def generate(self, requests: Any) -> Any:
            self.calls.append(len(requests))
            return super().generate(requests)

    llm = CountingLLM()
    kb = KnowledgeBase.open(tiny_kb, read_only=True)

    def load() -> Runtime:
        agent = ToolAgent(kb.grouping_tool(), AgentConfig(mode="agent", top_k=0), llm)
        return Runtime({"agent": agent}, kb, llm, batch_size=8)

    with client_for(tiny_kb, load, batch_wait_ms=300) as client, ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda n: client.post("/v1/bundles", json={"session": session_body(f"s{n}")}),
                range(6),
            )
        )
        metrics = client.get("/metrics").text
    assert [a.status_code for a in answers] == [200] * 6
    assert all(a.json()["predictions"][0]["bundles"][0]["intent"] == "named 0" for a in answers)
    assert sum(llm.calls) == 6
    assert len(llm.calls) < 6
    assert 'bundlekd_batch_sessions_count{mode="agent"}' in metrics


def test_knowledge_add_then_search_and_reads_never_write(kb_dir: Path) -> None:
    with client_for(kb_dir) as client:
        before = _files(kb_dir)
        client.post("/v1/bundles", json={"sessions": [session_body("a"), session_body("b")]})
        hits = client.get("/v1/knowledge/search", params={"q": "phone case", "k": 3})
        client.get("/ready")
        client.get("/metrics")
        assert _files(kb_dir) == before  # generation and search wrote nothing
        added = client.post("/v1/knowledge", json={"items": [rule("Cables go with chargers.")]})
        again = client.post("/v1/knowledge", json={"items": [rule("Cables go with chargers.")]})
        found = client.get(
            "/v1/knowledge/search",
            params={"q": "Cables go with chargers.", "k": 1, "kind": "rule"},
        )
        leak = client.post(
            "/v1/knowledge",
            json={"items": [{**rule("From the test split."), "source_splits": ["test"]}]},
        )
        unknown = client.post(
            "/v1/knowledge", json={"items": [{**rule("No split."), "source_splits": []}]}
        )
    assert hits.status_code == 200
    assert len(hits.json()["hits"]) == 3
    assert added.status_code == 200
    assert added.json()["added"] == 1
    assert again.json() | {"last_seq": 0} == {
        "added": 0,
        "merged": 0,
        "unchanged": 1,
        "ids": added.json()["ids"],
        "last_seq": 0,
        "live": True,
        "warnings": [],
    }
    assert found.json()["hits"][0]["id"] == added.json()["ids"][0]
    assert leak.status_code == 422
    assert leak.json()["detail"][0]["loc"] == ["body", "items", 0, "source_splits", 0]
    assert unknown.status_code == 422
    from bundlekd.knowledge_base.kb import KnowledgeBase

    assert KnowledgeBase.open(kb_dir, read_only=True).get(added.json()["ids"][0]) is not None


def test_metrics_and_openapi(tiny_kb: Path) -> None:
    with client_for(tiny_kb) as client:
        client.post("/v1/bundles", json={"session": session_body()})
        client.post("/v1/bundles", json={})
        client.get("/nowhere")
        metrics = client.get("/metrics")
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'bundlekd_requests_total{method="POST",route="/v1/bundles",status="200"} 1.0' in text
    assert 'route="/v1/bundles",status="422"} 1.0' in text
    assert 'route="unmatched",status="404"} 1.0' in text
    assert 'bundlekd_request_seconds_bucket{le="0.05",route="/v1/bundles"}' in text
    assert 'bundlekd_sessions_total{mode="tool"} 1.0' in text
    assert 'bundlekd_errors_total{kind="validation"} 1.0' in text
    assert {"/v1/bundles", "/v1/knowledge", "/v1/knowledge/search", "/health", "/ready"} <= set(
        schema["paths"]
    )
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_serve_cli_refuses_bad_settings_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bundlekd.cli import app

    monkeypatch.delenv("BUNDLEKD_API_KEY", raising=False)
    public = CliRunner().invoke(app, ["serve", "--kb", "kb", "--host", "0.0.0.0"])
    port = CliRunner().invoke(app, ["serve", "--kb", "kb", "--port", "99999"])
    assert public.exit_code == 1
    assert "BUNDLEKD_API_KEY" in public.output
    assert port.exit_code == 1
    assert "invalid service setting: port" in port.output
