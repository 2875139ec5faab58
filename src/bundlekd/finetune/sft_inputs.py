"""Knowledge, tool proposals and thoughts for SFT prompts, from a KB, without self-leakage.

A training session's own knowledge sits in the KB: its bundles are exemplars, its thought
explains its ground truth, its rules came from reflecting on it. Shown in its own prompt, that
knowledge is the answer, and the student would learn to copy what at test time is only a
hint. So for a training session every KB item distilled from that session is left out
(leave-one-out): in retrieved knowledge, and in the item memory that names the grouping
tool's proposals. Frequent patterns are aggregates over many sessions and stay.

A KB holding knowledge distilled from test sessions is refused outright.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from bundlekd.agent.prompting import KnowledgeSnippet
from bundlekd.data.schema import Session
from bundlekd.errors import LeakageError
from bundlekd.finetune.sft_data import ProposalInput
from bundlekd.llm.embeddings import Embedder

if TYPE_CHECKING:
    from bundlekd.agent.student import KnowledgeSource
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.knowledge_base.retrieval.item_memory import ItemMemory, Neighbour

Key = tuple[str, str]
AGGREGATE_KINDS = ("pattern",)  # mined over many sessions: not "the answer" of any one


class CachedEmbedder(Embedder):
    """Remembers every text's vector: augmented copies re-use their session's titles."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self._cache: dict[str, np.ndarray] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.inner.embed_batch(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


class LeaveOneOutMemory:
    """An item memory that hides the exemplars in `excluded` (set per session)."""

    def __init__(self, memory: ItemMemory, title_counts: dict[str, int]) -> None:
        self.memory = memory
        self.title_counts = title_counts  # exemplar id -> its rows in the memory
        self.excluded: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.memory)

    def nearest_vectors(
        self, queries: np.ndarray, k: int, *, domain: str | None = None
    ) -> list[list[Neighbour]]:
        if not self.excluded:
            return self.memory.nearest_vectors(queries, k, domain=domain)
        # Ask for enough extra rows that k remain after the hidden exemplars' rows go.
        margin = sum(self.title_counts.get(e, 1) for e in self.excluded)
        found = self.memory.nearest_vectors(queries, k + margin, domain=domain)
        return [[n for n in row if n.exemplar_id not in self.excluded][:k] for row in found]


def check_kb_has_no_test_knowledge(kb: KnowledgeBase) -> None:
    """Knowledge distilled from test sessions would carry test labels into the weights."""
    tested = [i.id for i in kb.items(status="active") if "test" in i.source_splits]
    if tested:
        raise LeakageError(
            f"{kb.kb_dir}: {len(tested)} knowledge items come from test sessions (e.g. "
            f"{tested[:3]}); SFT on them would train on test labels"
        )


class KBPromptInputs:
    """`PromptInputs` from a knowledge base: knowledge, proposals and thoughts per session.

    Args:
        kb: the knowledge base (read only).
        knowledge_source: retrieval as inference does it (None: no knowledge), best without
            a token budget of its own: the session's own items, hidden afterwards, would
            spend it (the prompt builder applies the budget to what is left).
        top_k: snippets per prompt.
        tool: the KB's grouping tool (None: no proposals).
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        knowledge_source: KnowledgeSource | None = None,
        top_k: int = 3,
        tool: GroupingTool | None = None,
    ) -> None:
        from bundlekd.knowledge_base.grouping.tool import GroupingTool

        check_kb_has_no_test_knowledge(kb)
        self.kb = kb
        self.knowledge_source = knowledge_source
        self.top_k = top_k
        self._owned: dict[Key, set[str]] = {}
        self._thoughts: dict[Key, str] = {}
        titles: dict[str, int] = {}
        for item in sorted(kb.items(status="active"), key=lambda i: i.created_at):
            raw_titles = item.stats.get("titles")
            titles[item.id] = len(raw_titles) if isinstance(raw_titles, list) else 1
            if item.kind in AGGREGATE_KINDS:
                continue
            for session_id in item.source_session_ids:
                self._owned.setdefault((item.domain, session_id), set()).add(item.id)
                if item.kind == "thought":
                    self._thoughts.setdefault((item.domain, session_id), item.text)
        self.tool: GroupingTool | None = None
        self._memory: LeaveOneOutMemory | None = None
        self._embedder: CachedEmbedder | None = None
        if tool is not None:
            self._embedder = CachedEmbedder(tool.embedder)
            self._memory = LeaveOneOutMemory(tool.memory, titles)
            self.tool = GroupingTool(
                self._embedder,
                cast("ItemMemory", self._memory),  # duck-typed: only nearest_vectors is used
                scorer=tool.scorer,
                settings=tool.settings,
                default=tool.default,
                metadata=tool.metadata,
            )
        self.n_hidden = 0  # KB items left out of some training prompt (reported)

    def _own(self, session: Session) -> set[str]:
        return self._owned.get(session.key, set()) if session.split == "train" else set()

    def prepare(self, sessions: Sequence[Session]) -> None:
        """Embed every title once (one batch) before the per-session proposals."""
        if self.tool is not None:
            self.tool.embed(sessions)

    def knowledge(self, session: Session) -> list[KnowledgeSnippet]:
        if self.knowledge_source is None or self.top_k <= 0:
            return []
        own = self._own(session)
        found = self.knowledge_source.lookup(session.public(), self.top_k + len(own))
        kept = [s for s in found if s.id not in own][: self.top_k]
        self.n_hidden += sum(s.id in own for s in found)
        return kept

    def proposals(self, session: Session) -> list[ProposalInput]:
        if self.tool is None or self._memory is None:
            return []
        self._memory.excluded = frozenset(self._own(session))
        try:
            proposals = self.tool.propose([session.public()])[0]
        finally:
            self._memory.excluded = frozenset()
        # The hints the agent shows: the proposal's intent, then its alternatives (ToolAgent).
        return [
            (tuple(p.positions), [h for h in (p.intent, *p.alternatives) if h]) for p in proposals
        ]

    def thought(self, session: Session) -> str | None:
        return self._thoughts.get(session.key) if session.split == "train" else None

    def describe(self) -> dict[str, Any]:
        from bundlekd.files import file_sha256

        return {
            "kb_dir": str(self.kb.kb_dir),
            "kb_knowledge_sha256": file_sha256(self.kb.store.knowledge_path),
            "kb_counts": {k: v for k, v in self.kb.stats().items() if k in ("by_kind", "active")},
            "tool": self.tool.describe() if self.tool is not None else None,
            "leave_one_out": "KB items distilled from a training session are hidden from its "
            "own prompt (patterns excepted)",
            "n_thoughts": len(self._thoughts),
        }
