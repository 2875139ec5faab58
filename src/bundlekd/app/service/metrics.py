"""Prometheus metrics of the service, in a registry of its own (one per app instance)."""

from __future__ import annotations

from typing import Any


class ServiceMetrics:
    """Requests, latency, sessions, batches, errors and queue depth (`GET /metrics`)."""

    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # the *_created series only add noise here

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bundlekd_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bundlekd_request_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.sessions = Counter(
            "bundlekd_sessions", "Sessions answered, by mode.", ["mode"], registry=self.registry
        )
        self.batch_sessions = Histogram(
            "bundlekd_batch_sessions",
            "Sessions per model call (micro-batching).",
            ["mode"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.errors = Counter(
            "bundlekd_errors",
            "Refused or failed requests, by kind (validation, limit, overload, timeout, ...), "
            "each counted once; session_limit counts sessions refused inside a 200.",
            ["kind"],
            registry=self.registry,
        )
        self.queued = Gauge(
            "bundlekd_queued_sessions", "Sessions queued or running.", registry=self.registry
        )
        self.knowledge_writes = Counter(
            "bundlekd_knowledge_items",
            "Knowledge items sent to POST /v1/knowledge and /v1/feedback, by outcome.",
            ["outcome"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request. Errors are not counted here: each refusal or failure is
        counted once, by kind, where it is decided (`error`)."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def error(self, kind: str, **_: Any) -> None:
        self.errors.labels(kind).inc()
