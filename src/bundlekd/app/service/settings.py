"""ServiceSettings: how `bundlekd serve` listens, what it accepts, and when it says no.

What the service generates (mode, KB, model, embedder) is the project configuration
(`ProjectConfig`); this section is only about the HTTP side. Values come from defaults <
`BUNDLEKD_SERVE_*` environment < `bundlekd serve` flags. The API key is never a setting: it is
read from the environment variable `api_key_env` names.
"""

from __future__ import annotations

import os

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bundlekd.agent.config import AgentMode


class ServiceSettings(BaseSettings):
    """HTTP settings of the bundle service (limits, overload, batching, binding)."""

    model_config = SettingsConfigDict(env_prefix="BUNDLEKD_SERVE_", extra="forbid", frozen=True)

    host: str = Field(
        default="127.0.0.1",
        description="Address to bind. Loopback by default; any other needs an API key.",
    )
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0 = any free one).")
    api_key_env: str = Field(
        default="BUNDLEKD_API_KEY",
        description="Environment variable holding the API key; unset = no key required.",
    )
    modes: tuple[AgentMode, ...] = Field(
        default=(),
        description="Modes a request may ask for with `mode`; empty = the configured mode, "
        "plus `tool` when the configured mode is `agent` (same KB, no LLM).",
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest request body; more answers 413."
    )
    max_sessions: int = Field(
        default=64, ge=1, description="Most sessions in one POST /v1/bundles (422 above)."
    )
    max_items: int = Field(
        default=50,
        ge=2,
        description="Most items in one session (the data has 2-10; a session over it gets its "
        "own error).",
    )
    max_title_chars: int = Field(
        # The longest real title is 748 characters (Electronic, item_titles.csv; 745 in the
        # AICL split): 2000 admits every real session with room, and a body stays far below
        # max_body_bytes (50 items x 2000 characters = 100 kB).
        default=2000,
        ge=20,
        description="Longest item title accepted (a session over it gets its own error).",
    )
    max_knowledge_items: int = Field(
        default=100, ge=1, description="Most items in one POST /v1/knowledge (422 above)."
    )
    max_knowledge_chars: int = Field(
        default=4000, ge=100, description="Longest knowledge text accepted."
    )
    max_queue_sessions: int = Field(
        # Bounded so overload is declared (503 + Retry-After) instead of queued without end:
        # at ~300-900 sessions/min in tool mode on 2 cores, 256 queued sessions are seconds.
        default=256,
        ge=1,
        description="Sessions waiting or running at once; a request past it gets 503. At least "
        "max_sessions, so that an idle server admits every request it accepts.",
    )
    max_in_flight: int = Field(
        # Measured on 2 shared cores (notes): past a few dozen waiting requests the event loop
        # spends its share of the GIL parsing requests that will wait seconds anyway.
        default=32,
        ge=1,
        description="API requests handled at once; one more gets 503 + Retry-After before "
        "its body is read.",
    )
    max_wait_s: float = Field(
        # Under the request timeout, so a request that is accepted is usually answered: past
        # this expected wait the client gets 503 + Retry-After at once (declared overload).
        default=5.0,
        gt=0,
        description="Refuse a request whose expected queue wait (sessions ahead x measured "
        "seconds per session) is longer than this; 503 + Retry-After.",
    )
    knowledge_poll_s: float = Field(
        # os.stat of three files: free next to a request; 0.5 s keeps "live within 1 s"
        default=0.5,
        ge=0,
        le=3600,
        description="How often the KB folder is checked for commits of other processes (kb "
        "add, rollback, refit-tool), which then go live without a restart; 0: never (this "
        "service's own writes still go live at once).",
    )
    max_pending_writes: int = Field(
        default=32, ge=1, description="Knowledge writes waiting at once; past it 503."
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="A request not answered by then gets 503 + Retry-After."
    )
    retry_after_s: int = Field(default=1, ge=1, description="Retry-After sent with a 503.")
    batch_wait_ms: float = Field(
        # LLM modes only: a short wait lets concurrent requests share one model call; tool mode
        # batches what queued while the worker was busy and never waits.
        default=20.0,
        ge=0,
        description="LLM modes: how long the first request of a batch waits for others.",
    )
    batch_sessions: int = Field(
        default=0,
        ge=0,
        description="Most sessions per model call; 0 = generation.batch_size.",
    )

    @model_validator(mode="after")
    def _queue_holds_a_request(self) -> ServiceSettings:
        # A request larger than the queue could never be admitted, even by an idle server: it
        # would get 503 + Retry-After forever. Refused here, at startup, in one line.
        if self.max_queue_sessions < self.max_sessions:
            raise ValueError(
                f"max_queue_sessions ({self.max_queue_sessions}, --max-queue) is below "
                f"max_sessions ({self.max_sessions}): a request of more sessions than the queue "
                "holds would get 503 forever; raise --max-queue or lower "
                "BUNDLEKD_SERVE_MAX_SESSIONS"
            )
        return self

    def api_key(self) -> str | None:
        """The key from the environment (empty counts as unset)."""
        return os.environ.get(self.api_key_env) or None
