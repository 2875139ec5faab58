"""A short load test against a real `bundlekd serve` process (tool mode, loopback): 20
clients for 4 s. The full 200 clients x 60 s run is benchmarks/bench_service.py."""

from __future__ import annotations

from pathlib import Path

from service_helpers import server, session_body

from bundlekd.app.service.loadgen import run_load


def test_short_load_has_no_5xx_but_declared_overload(kb_dir: Path) -> None:
    # a queue of 16 holds a request of at most 16 sessions (else refused at startup)
    env = {"BUNDLEKD_SERVE_MAX_SESSIONS": "16"}
    with server(kb_dir, "--max-queue", "16", env=env) as (url, _):
        report = run_load(url, {"session": session_body()}, clients=20, seconds=4)
    summary = report.summary()
    print("load", summary)
    assert report.statuses[200] > 20, summary
    assert set(report.statuses) <= {200, 503}, summary
    assert report.undeclared_5xx == 0
    assert report.missing_retry_after == 0
    assert not report.transport_errors, summary
