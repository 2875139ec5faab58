"""OpenAICompatLLM against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bundlekd.errors import BackendUnavailableError, ConfigError, LLMError, TransportError
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.openai_compat import OpenAICompatLLM

pytest.importorskip("openai")


class FakeServer:
    """Answers /v1/chat/completions with "echo: <last user message>"; scripted failures first."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.failures: list[int] = []  # HTTP status codes to answer before succeeding
        self.delay_s = 0.0  # answer this late (timeouts)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "smollm2", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.bodies.append(body)
                    status = server.failures.pop(0) if server.failures else 200
                time.sleep(server.delay_s)
                if status != 200:
                    self._send(status, {"error": {"message": f"scripted {status}"}})
                    return
                text = "echo: " + body["messages"][-1]["content"]
                self._send(
                    200,
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "length" if body["max_tokens"] < 5 else "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def _request(text: str, **kw: object) -> ChatRequest:
    return ChatRequest(messages=(Message("user", text),), **kw)


def test_batch_success_in_order_with_usage(server: FakeServer) -> None:
    llm = OpenAICompatLLM("smollm2", server.url, concurrency=4)
    texts = [f"question {i}" for i in range(10)]
    completions = llm.generate([_request(t) for t in texts])

    assert [c.text for c in completions] == [f"echo: {t}" for t in texts]
    assert all(c.prompt_tokens == 7 and c.completion_tokens == 3 for c in completions)
    assert all(c.finish_reason == "stop" and c.model == "smollm2" for c in completions)
    assert len(server.bodies) == 10
    assert llm.ping() == ["smollm2"]
    llm.close()


def test_request_fields_schema_adapter_seed(server: FakeServer) -> None:
    llm = OpenAICompatLLM("smollm2", server.url)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    completion = llm.generate(
        [
            _request(
                "hi",
                sampling=Sampling(max_new_tokens=3, temperature=0.7, top_p=0.9, seed=5),
                json_schema=schema,
                adapter="rules-lora",
            )
        ]
    )[0]
    body = server.bodies[0]
    assert body["model"] == "rules-lora"
    assert body["max_tokens"] == 3
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.7, 0.9, 5)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "bundles", "schema": schema, "strict": True},
    }
    assert completion.finish_reason == "length"
    assert completion.model == "rules-lora"


def test_500_then_success_is_retried_by_the_sdk(server: FakeServer) -> None:
    server.failures = [500, 503]
    llm = OpenAICompatLLM("smollm2", server.url, max_retries=3)
    completion = llm.generate([_request("again")])[0]
    assert completion.error is None
    assert completion.text == "echo: again"
    assert len(server.bodies) == 3


def test_persistent_5xx_raises_a_transport_error_never_a_completion(server: FakeServer) -> None:
    server.failures = [503, 503, 503]
    llm = OpenAICompatLLM("smollm2", server.url, max_retries=2, concurrency=1)
    with pytest.raises(TransportError, match="HTTP 503 after 3 tries") as caught:
        llm.generate([_request("a"), _request("b")])
    assert isinstance(caught.value, LLMError)
    assert len(server.bodies) == 3  # the SDK retried twice, then the batch stopped

    server.failures = [429] * 8  # every request, on both tries
    with pytest.raises(TransportError, match="HTTP 429"):
        OpenAICompatLLM("smollm2", server.url, max_retries=1, concurrency=4).generate(
            [_request(f"q{i}") for i in range(4)]
        )


def test_a_rejected_request_is_a_per_request_error_and_the_batch_goes_on(
    server: FakeServer,
) -> None:
    server.failures = [400]
    llm = OpenAICompatLLM("smollm2", server.url, max_retries=2, concurrency=1)
    rejected, answered = llm.generate([_request("c"), _request("d")])
    assert rejected.finish_reason == "error"
    assert "HTTP 400" in rejected.error
    assert answered.text == "echo: d"
    assert len(server.bodies) == 2  # a 400 is not retried


def test_a_refused_key_or_model_stops_the_batch(server: FakeServer) -> None:
    server.failures = [401]
    llm = OpenAICompatLLM("smollm2", server.url, max_retries=2, concurrency=1)
    with pytest.raises(BackendUnavailableError, match="HTTP 401 for model 'smollm2'"):
        llm.generate([_request("c"), _request("d")])
    assert len(server.bodies) == 1


def test_timeouts_are_retried_then_raise_a_transport_error(server: FakeServer) -> None:
    server.delay_s = 0.5
    llm = OpenAICompatLLM("smollm2", server.url, timeout_s=0.1, max_retries=1)
    with pytest.raises(TransportError, match=r"timed out after 0.1 s \(2 tries\)"):
        llm.generate([_request("slow")])
    assert len(server.bodies) == 2  # the SDK retried once


def test_dead_port_fails_fast_and_clearly() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = OpenAICompatLLM("m", f"http://127.0.0.1:{port}/v1", max_retries=2)
    started = time.perf_counter()
    with pytest.raises(BackendUnavailableError, match=f"cannot reach http://127.0.0.1:{port}/v1"):
        llm.generate([_request("x"), _request("y"), _request("z")])
    assert time.perf_counter() - started < 5
    with pytest.raises(BackendUnavailableError, match="cannot reach"):
        llm.ping()


def test_api_key_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OpenAICompatLLM("m", "http://localhost:8000/v1")._api_key == "EMPTY"
    with pytest.raises(ConfigError, match="MY_KEY"):
        OpenAICompatLLM("m", "https://api.example.com/v1", api_key_env="MY_KEY")
    monkeypatch.setenv("MY_KEY", "sk-test")
    assert (
        OpenAICompatLLM("m", "https://api.example.com/v1", api_key_env="MY_KEY")._api_key
        == "sk-test"
    )
    monkeypatch.setenv("BUNDLEKD_BASE_URL", "http://127.0.0.1:9/v1/")
    llm = OpenAICompatLLM("m")
    assert llm.base_url == "http://127.0.0.1:9/v1"
    assert llm.model_id == "m@http://127.0.0.1:9/v1"
