"""A bounded load client for the service: N concurrent clients for T seconds (httpx, asyncio).

    report = run_load("http://127.0.0.1:8000", body, clients=200, seconds=60)
    report.p50_ms, report.p99_ms, report.requests_per_s, report.statuses

Each client sends `body` to POST /v1/bundles over one pooled keep-alive connection, waits for
the answer, and sends again until the time is up. A 503 is honoured like a polite client does
(it sleeps the Retry-After seconds, capped by the time left) and counted; a 503 without
Retry-After is counted apart, since the service promises one.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bundlekd.errors import BundleKDError


@dataclass
class LoadReport:
    clients: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)  # of 200 answers
    missing_retry_after: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return 1000 * ordered[index]

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99)

    @property
    def undeclared_5xx(self) -> int:
        """5xx answers other than the declared overload 503."""
        return sum(n for code, n in self.statuses.items() if code >= 500 and code != 503)

    def summary(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "statuses": dict(sorted(self.statuses.items())),
            "transport_errors": dict(self.transport_errors),
            "missing_retry_after": self.missing_retry_after,
        }


def run_load(
    url: str,
    body: dict[str, Any],
    *,
    clients: int,
    seconds: float,
    path: str = "/v1/bundles",
    headers: dict[str, str] | None = None,
    timeout_s: float = 60.0,
) -> LoadReport:
    """Drive `clients` concurrent clients against `url` for `seconds` (blocking)."""
    return asyncio.run(_load(url, body, clients, seconds, path, headers or {}, timeout_s))


async def _load(
    url: str,
    body: dict[str, Any],
    clients: int,
    seconds: float,
    path: str,
    headers: dict[str, str],
    timeout_s: float,
) -> LoadReport:
    import httpx

    report = LoadReport(clients=clients, seconds=seconds)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=timeout_s, headers=headers
    ) as client:
        deadline = loop.time() + seconds

        async def one_client() -> None:
            while loop.time() < deadline:
                started = time.perf_counter()
                try:
                    answer = await client.post(path, json=body)
                except httpx.HTTPError as exc:
                    report.transport_errors[type(exc).__name__] += 1
                    continue
                report.statuses[answer.status_code] += 1
                if answer.status_code == 200:
                    report.latencies_s.append(time.perf_counter() - started)
                elif answer.status_code == 503:
                    retry = answer.headers.get("retry-after")
                    if retry is None:
                        report.missing_retry_after += 1
                    pause = float(retry) if retry and retry.isdigit() else 1.0
                    await asyncio.sleep(max(0.0, min(pause, deadline - loop.time())))

        started = loop.time()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        report.seconds = loop.time() - started
    return report


def wait_ready(url: str, process: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    """Wait until the `bundlekd serve` in `process` answers GET /ready with 200.

    Raises:
        BundleKDError: the process exited, its load failed (/ready says "failed: ..."), or it
            was not ready within `timeout_s`.
    """
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read() if process.stderr else ""
            raise BundleKDError(f"bundlekd serve exited with {process.returncode}: {err[-2000:]}")
        try:
            ready = httpx.get(f"{url}/ready", timeout=2)
            if ready.status_code == 200:
                return
            if "failed" in ready.json().get("detail", ""):
                raise BundleKDError(f"bundlekd serve could not load: {ready.json()['detail']}")
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BundleKDError(f"{url} was not ready after {timeout_s} s")
