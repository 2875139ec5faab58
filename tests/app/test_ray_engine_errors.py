"""The ray engine's error paths that need no cluster: one line, our own error types."""

from __future__ import annotations

import socket

import pytest

from bundlekd.app.ray_engine import RayOptions, _as_our_error, _check_reachable, _our_error
from bundlekd.errors import ConfigError, EngineError, LLMError, TransportError


def test_a_workers_error_comes_back_as_its_own_type():
    error = _as_our_error("TransportError: cannot reach http://vllm:8000/v1")
    assert type(error) is TransportError
    assert str(error) == "cannot reach http://vllm:8000/v1"
    assert isinstance(_as_our_error("KeyError: 'x'"), EngineError)  # not ours: wrapped


def test_our_error_inside_a_ray_cause_chain_is_found():
    class FakeRayTaskError(Exception):  # what Ray raises: the worker's error as `.cause`
        def __init__(self, cause: BaseException) -> None:
            super().__init__("ray::MapWorker failed\nlong traceback")
            self.cause = cause

    assert type(_our_error(FakeRayTaskError(LLMError("server down")))) is LLMError
    other = _our_error(FakeRayTaskError(ValueError("boom")))
    assert isinstance(other, EngineError)
    assert "\n" not in str(other)
    assert "re-run the same command" in str(other)


def test_an_address_nobody_listens_on_fails_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(EngineError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
            _check_reachable(f"127.0.0.1:{port}")
    with pytest.raises(ConfigError, match="not HOST:PORT"):
        _check_reachable("nohost")
    _check_reachable("auto")  # left to Ray


def test_ray_options_are_validated():
    with pytest.raises(ConfigError, match="at least 1"):
        RayOptions(workers=0)
    assert RayOptions().cpus_per_worker == 1.0


def test_an_ipv6_address_in_brackets_is_host_and_port():
    with socket.socket(socket.AF_INET6) as s:
        try:
            s.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback on this machine")
        s.listen()
        _check_reachable(f"[::1]:{s.getsockname()[1]}")  # as Ray itself writes it
    with pytest.raises(ConfigError, match="in brackets"):
        _check_reachable("::1:6379")
