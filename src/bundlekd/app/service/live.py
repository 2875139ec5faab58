"""Knowledge that goes live: a running service answers from the KB as it is now.

The agents hold what they were built from: the KB opened read-only and the grouping tool with
its item memory. When the KB changes (a write through this service, `bundlekd kb add`, `kb
rollback`, `kb refit-tool` in another process), `LiveKnowledge.refresh` opens the KB again
and rebuilds the agents from it; the batcher then takes the new agents for its next batch
(one dict assignment, so a batch never mixes the two). The pair scorer's weights and the
val-chosen settings come from `tool/tool.json` as committed; the memory is the KB's exemplars
now. A change is noticed by the files a commit writes: history.jsonl (appended last),
knowledge.jsonl and tool.json.

Writes through this service refresh before they are acknowledged, so the next answer uses
them; other processes' commits are picked up by `watch` within its poll interval.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.app.service.runtime import Runtime
    from bundlekd.knowledge_base.kb import KnowledgeBase

logger = logging.getLogger(__name__)

Stamp = tuple[tuple[int, int, int] | None, ...]
#: Builds the agents of every served mode from a (read-only) KB.
AgentBuilder = Callable[["KnowledgeBase"], dict[str, Any]]
#: Opens the KB read-only, as the runtime did at load.
KBOpener = Callable[[], "KnowledgeBase"]


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def knowledge_stamp(kb_dir: Path) -> Stamp:
    """What changes when a commit lands: the history, the knowledge and the fitted tool."""
    from bundlekd.knowledge_base.grouping.tool import tool_path
    from bundlekd.knowledge_base.store.knowledge_store import HISTORY_FILE, KNOWLEDGE_FILE

    return tuple(
        _stat(p) for p in (kb_dir / HISTORY_FILE, kb_dir / KNOWLEDGE_FILE, tool_path(kb_dir))
    )


class LiveKnowledge:
    """Keeps one runtime's agents in step with its KB folder."""

    def __init__(self, runtime: Runtime, open_kb: KBOpener, build_agents: AgentBuilder) -> None:
        if runtime.kb is None:
            raise ValueError("a runtime without a KB has no knowledge to keep live")
        self.runtime = runtime
        self.kb_dir = Path(runtime.kb.kb_dir)
        self._open_kb = open_kb
        self._build_agents = build_agents
        self._lock = threading.Lock()  # one refresh at a time
        self.stamp = knowledge_stamp(self.kb_dir)
        self.seq = runtime.kb.store.last_seq()
        self.reloads = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, *, force: bool = False) -> bool:
        """Rebuild the agents when the KB changed since the last build (or `force`); returns
        whether it did. A KB that cannot be opened now (a damaged file, a tool refit midway)
        keeps the agents as they are and is tried again on the next call.
        """
        with self._lock:
            stamp = knowledge_stamp(self.kb_dir)
            if stamp == self.stamp and not force:
                return False
            started = time.perf_counter()
            try:
                kb = self._open_kb()
                agents = self._build_agents(kb)
            except Exception as exc:  # keep serving what was loaded; say why once
                error = " ".join(f"{type(exc).__name__}: {exc}".split())
                if error != self.last_error:
                    logger.warning("the KB changed but could not be reloaded: %s", error)
                self.last_error = error
                return False
            self.runtime.replace_agents(agents, kb)
            self.stamp, self.seq = stamp, kb.store.last_seq()
            self.reloads += 1
            self.last_error = ""
            logger.info(
                "knowledge reloaded at KB operation #%d in %.0f ms",
                self.seq,
                1000 * (time.perf_counter() - started),
            )
            return True

    def up_to_date(self) -> bool:
        """Refresh if needed; True when the agents answer from the KB's files as they are."""
        self.refresh()
        return self.stamp == knowledge_stamp(self.kb_dir)

    def watch(self, interval_s: float) -> None:
        """Poll the KB folder every `interval_s` in a daemon thread (another process's
        commits go live without a restart)."""
        if self._thread is not None or interval_s <= 0:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.refresh()
                except Exception:  # a watcher that dies silently would be worse
                    logger.exception("knowledge watcher")

        self._thread = threading.Thread(target=loop, name="bundlekd-kb-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
