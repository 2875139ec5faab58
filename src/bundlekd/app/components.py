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
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
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
        _, marked, adapter = cfg.model.partition("+adapter:")
        if marked and adapter:  # a broken adapter is one line, before any model loads
            from bundlekd.llm.adapter_check import check_adapter_folder

            check_adapter_folder(adapter)
        options["batch_size"] = batch_size
        options["device"] = cfg.device
        options["dtype"] = cfg.dtype
        options["max_batch_tokens"] = cfg.max_batch_tokens
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


def build_embedder(cfg: EmbedderConfig, *, cache: bool = True) -> Embedder:
    """The configured embedder, behind the on-disk embedding cache (one file per embedder)."""
    from bundlekd.files import canonical_hash
    from bundlekd.llm.embedding_cache import CachingEmbedder
    from bundlekd.llm.embeddings import get_embedder
    from bundlekd.llm.model_store import cache_root

    embedder = get_embedder(cfg.resolved)
    if not cache or embedder.name == "hashing":  # hashing is cheaper than a lookup
        return embedder
    path = cache_root() / "embeddings" / f"{canonical_hash(embedder.model_id, 12)}.sqlite"
    return CachingEmbedder(embedder, path)


def open_kb(
    kb: KBConfig, embedder: EmbedderConfig, *, create: bool = False, progress=None
) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    """Open the KB folder `kb.dir` with the configured index and embedder.

    Without `create` this is a read (generate, chat, eval): nothing is written, and an
    embedder or index other than the recorded ones is an error. With `create` (distill) the KB
    is created if needed and its index brought up to date.
    """
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore
    from bundlekd.llm.config import EmbedderConfig

    if kb.dir is None:
        raise ConfigError("no knowledge base: pass --kb DIR (or set kb.dir in the config)")
    store = KnowledgeStore(kb.dir)
    recorded = store.settings.get("embedder_id") if store.manifest_path.exists() else None
    chosen = build_embedder(EmbedderConfig(name=embedder.name or recorded or "minilm"))
    return KnowledgeBase.open(
        kb.dir,
        chosen,
        kb.index,
        kb.chroma_url,
        create=create,
        progress=progress,
        read_only=not create,
    )


def grouping_tool(kb: KnowledgeBase, reuse: Embedder | None = None) -> GroupingTool:
    """The KB's grouping tool with its recorded embedder behind the embedding cache (`reuse`:
    an embedder already loaded, taken when it is the recorded one: a live service rebuilds its
    tool after every label and must not load the model again)."""
    from bundlekd.knowledge_base.grouping.tool_file import load_tool_file
    from bundlekd.llm.config import EmbedderConfig

    recorded = load_tool_file(kb.kb_dir).embedder_id
    if reuse is not None and reuse.model_id == recorded:
        return kb.grouping_tool(reuse)
    return kb.grouping_tool(build_embedder(EmbedderConfig(name=recorded)))


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
    tool_embedder: Embedder | None = None,
) -> StudentAgent | ToolAgent:
    """Wire the agent: the grouping tool for modes tool/agent, an example index when the mode
    uses worked examples, retrieved knowledge for icl and agent. `tool_embedder`: a loaded
    embedder the tool may reuse (`grouping_tool`).

    Raises:
        ConfigError: icl/tool/agent without a KB, examples without labelled training sessions.
        KnowledgeBaseError: tool/agent with a KB that has no grouping tool.
    """
    from bundlekd.agent import ExampleIndex, StudentAgent
    from bundlekd.agent.tool_agent import ToolAgent

    generation = config.generation
    if generation.uses_tool:
        if kb is None:
            if config.kb.dir is None:
                raise ConfigError(
                    f"mode {generation.mode} needs a knowledge base with a grouping tool: "
                    "--kb DIR (build one with `bundlekd distill --kinds exemplar --kb DIR`), "
                    "or a pure-LLM mode such as --mode few_shot"
                )
            kb = open_kb(config.kb, config.embedder)
        tool = grouping_tool(kb, tool_embedder)
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


def sample_per_domain(sessions: Sequence[Session], n: int, seed: int) -> list[Session]:
    """A seeded random `n` sessions of each domain, in their original order."""
    import random

    chosen: set[tuple[str, str]] = set()
    for domain in sorted({s.domain for s in sessions}):
        keys = sorted(s.key for s in sessions if s.domain == domain)
        chosen.update(random.Random(seed).sample(keys, min(n, len(keys))))
    return [s for s in sessions if s.key in chosen]


def load_targets(
    data: DataConfig, sessions_file: Path | None = None, *, notes: list[str] | None = None
) -> tuple[list[Session], list[Session]]:
    """(sessions to predict, training sessions of the same source and domains).

    `sessions_file` (a sessions JSONL) replaces `data.source` when given. `notes` receives
    what the whole input holds that a reader must know before the first batch runs (see
    `input_notes`).
    """
    from bundlekd.data.sources import SPLITS, load_sessions

    if data.split not in SPLITS:
        raise ConfigError(f"unknown split {data.split!r}: valid choices are {', '.join(SPLITS)}")
    where = str(sessions_file) if sessions_file is not None else data.source
    every = load_sessions(where, domains=list(data.domains) or None, split="all", data_dir=data.dir)
    targets = [s for s in every if data.split == "all" or s.split == data.split]
    if notes is not None:
        notes.extend(input_notes(every, targets, data.split, where))
    if data.sample is not None:
        targets = sample_per_domain(targets, data.sample, data.seed)
    if data.limit is not None:
        targets = targets[: data.limit]
    train = [s for s in every if s.split == "train"]  # worked examples: same source and domains
    return targets, train


def input_notes(
    every: Sequence[Session], targets: Sequence[Session], split: str, where: str
) -> list[str]:
    """What was skipped and why, and what `bundlekd data validate` would warn about the
    sessions to predict (untitled items, GT bundles under 2 items, leaking categories)."""
    from bundlekd.data.validate import session_warnings

    notes = []
    unsplit = [s.session_id for s in every if s.split is None]
    if split != "all" and unsplit:
        notes.append(
            f'{len(unsplit)} session(s) in {where} have no "split" and were skipped under '
            f'--split {split} (e.g. {", ".join(unsplit[:3])}): add "split" to them, or pass '
            "--split all"
        )
    flagged = [(s.session_id, w) for s in targets for w in session_warnings(s)]
    if flagged:
        shown = "; ".join(f"{sid}: {message}" for sid, message in flagged[:3])
        notes.append(
            f"{len({sid for sid, _ in flagged})} session(s) to predict have problems "
            f"`bundlekd data validate` reports, e.g. {shown}"
        )
    return notes
