"""Builders: one place that turns configuration sections into working objects."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.agent.config import AgentConfig
    from bundlekd.agent.kb_source import KBKnowledgeSource
    from bundlekd.agent.student import StudentAgent
    from bundlekd.agent.tool_agent import ToolAgent
    from bundlekd.config import ProjectConfig
    from bundlekd.data.config import DataConfig
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.config import KBConfig, RetrievalConfig
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.base import LLM
    from bundlekd.llm.config import EmbedderConfig, LLMConfig
    from bundlekd.llm.embeddings import Embedder


def build_llm(cfg: LLMConfig, *, batch_size: int = 8) -> LLM:
    """The backend `cfg.model` names; local models get threads and batch size, servers get
    concurrency and timeout (the registry is the one judge of "local")."""
    from bundlekd.llm.registry import get_llm, is_local_spec

    options: dict[str, object] = {}
    if is_local_spec(cfg.model):
        options["batch_size"] = batch_size
        options["device"] = cfg.device
        if cfg.threads is not None:
            options["num_threads"] = cfg.threads
    elif cfg.model.startswith("openai"):
        options.update(concurrency=cfg.concurrency, timeout_s=cfg.timeout_s)
    return get_llm(cfg.model, **options)


def build_teacher(config: ProjectConfig, student: LLM | None = None) -> LLM:
    """The teacher: `teacher.model`, or the student's model (reusing `student` if loaded)."""
    teacher_cfg = config.teacher
    if not teacher_cfg.model or teacher_cfg.model == config.student.model:
        if student is not None:
            return student
        teacher_cfg = teacher_cfg.model_copy(update={"model": config.student.model})
    return build_llm(teacher_cfg, batch_size=8)


def build_embedder(cfg: EmbedderConfig) -> Embedder:
    from bundlekd.llm.embeddings import get_embedder

    return get_embedder(cfg.resolved)


def open_kb(
    kb: KBConfig, embedder: EmbedderConfig, *, create: bool = False, progress=None
) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    """Open (or create) the KB folder `kb.dir` with the configured index and embedder."""
    from bundlekd.knowledge_base.kb import KnowledgeBase

    if kb.dir is None:
        raise ConfigError("no knowledge base: pass --kb DIR (or set kb.dir in the config)")
    return KnowledgeBase.open(
        kb.dir, embedder.name, kb.index, kb.chroma_url, create=create, progress=progress
    )


def knowledge_source(
    kb: KnowledgeBase, generation: AgentConfig, retrieval: RetrievalConfig
) -> KBKnowledgeSource:
    """The KB adapted to the student's knowledge-source protocol."""
    from bundlekd.agent.kb_source import KBKnowledgeSource

    return KBKnowledgeSource(
        kb,
        kinds=generation.knowledge_kinds,
        same_domain=retrieval.same_domain,
        mmr_lambda=retrieval.mmr_lambda,
        token_budget=generation.knowledge_token_budget,
    )


def build_agent(
    config: ProjectConfig,
    llm: LLM,
    *,
    train_sessions: Sequence[Session],
    kb: KnowledgeBase | None = None,
    embedder: Embedder | None = None,
) -> StudentAgent | ToolAgent:
    """Wire the agent: the grouping tool for modes tool/agent, an example index when the mode
    uses worked examples, retrieved knowledge for icl and agent.

    Raises:
        ConfigError: icl/tool/agent without a KB, examples without labelled training sessions.
        KnowledgeBaseError: tool/agent with a KB that has no grouping tool.
    """
    from bundlekd.agent import ExampleIndex, StudentAgent
    from bundlekd.agent.tool_agent import ToolAgent

    generation = config.generation
    if generation.uses_tool:
        if kb is None:
            kb = open_kb(config.kb, config.embedder)
        tool = kb.grouping_tool()
        source = (
            knowledge_source(kb, generation, config.retrieval)
            if generation.uses_knowledge
            else None
        )
        return ToolAgent(tool, generation, llm if generation.uses_llm else None, source)
    knowledge = None  # resolved first: a missing KB should fail before the embedder loads
    if generation.uses_knowledge:
        if kb is None:
            kb = open_kb(config.kb, config.embedder)
        knowledge = knowledge_source(kb, generation, config.retrieval)
    index = None
    if generation.uses_examples:
        if not any(s.bundles is not None for s in train_sessions):
            raise ConfigError(
                "no training sessions with bundles to draw worked examples from; "
                "use --mode zero_shot or --examples 0"
            )
        index = ExampleIndex(train_sessions, embedder or build_embedder(config.embedder))
    return StudentAgent(llm, generation, example_index=index, knowledge_source=knowledge)


def load_targets(
    data: DataConfig, sessions_file: Path | None = None
) -> tuple[list[Session], list[Session]]:
    """(sessions to predict, training sessions of the same source and domains).

    `sessions_file` (a sessions JSONL) replaces `data.source` when given.
    """
    from bundlekd.data.sources import SPLITS, load_sessions

    if data.split not in SPLITS:
        raise ConfigError(f"unknown split {data.split!r}: valid choices are {', '.join(SPLITS)}")
    where = str(sessions_file) if sessions_file is not None else data.source
    every = load_sessions(where, domains=list(data.domains) or None, split="all", data_dir=data.dir)
    targets = [s for s in every if data.split == "all" or s.split == data.split]
    if data.limit is not None:
        targets = targets[: data.limit]
    train = [s for s in every if s.split == "train"]  # worked examples: same source and domains
    return targets, train
