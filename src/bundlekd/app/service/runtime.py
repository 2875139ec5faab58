"""Runtime: what a running service holds (agents per mode, the KB, the model), and its loader.

Everything is built by the composition layer (`app.components`) from the project
configuration, exactly as `bundlekd generate` builds it, so a served bundle equals a generated
one. The KB is opened read-only: generation and search never write it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bundlekd.app.service.live import LiveKnowledge
from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.agent.student import StudentAgent
    from bundlekd.agent.tool_agent import ToolAgent
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Prediction, Session
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.base import LLM

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """A loaded service: one agent per allowed mode (the first is the default)."""

    agents: dict[str, StudentAgent | ToolAgent]
    kb: KnowledgeBase | None = None
    llm: LLM | None = None
    batch_size: int = 8
    info: dict[str, Any] = field(default_factory=dict)
    #: keeps the agents in step with the KB (None: no KB)
    live: LiveKnowledge | None = None

    @property
    def default_mode(self) -> str:
        return next(iter(self.agents))

    def uses_llm(self, mode: str) -> bool:
        return bool(self.agents[mode].config.uses_llm)

    def domains(self, mode: str) -> list[str] | None:
        """The domains `mode` can answer for; None: any.

        A learned grouping tool scores only the domains it has a memory of (the same rule as
        `generate`'s check), so a session of another domain is refused up front, naming its
        field, instead of failing its whole batch.
        """
        scorer = getattr(getattr(self.agents[mode], "proposer", None), "scorer", None)
        memories = getattr(scorer, "memories", None)
        if getattr(scorer, "kind", "") != "learned" or not isinstance(memories, dict):
            return None
        return sorted(memories)

    def generate(self, mode: str, sessions: list[Session]) -> list[Prediction]:
        return self.agents[mode].generate(sessions)

    def replace_agents(
        self, agents: dict[str, StudentAgent | ToolAgent], kb: KnowledgeBase
    ) -> None:
        """Swap in agents built from the KB as it is now (warmed up first, so the first
        request after a reload costs what every other does)."""
        if list(agents) != list(self.agents):
            raise ValueError(f"modes changed: {list(self.agents)} -> {list(agents)}")
        _warm_up(agents, self.uses_llm)
        self.agents, self.kb = agents, kb  # one assignment each: a batch sees old or new

    def warm_up(self) -> None:
        """One tiny session through each mode without an LLM: the first request then costs what
        every other does (lazy caches fill here, ~0.6 s on 2 cores), not a p99 outlier."""
        _warm_up(self.agents, self.uses_llm)

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()


def _warm_up(agents: dict[str, Any], uses_llm: Callable[[str], bool]) -> None:
    from bundlekd.data.schema import Item, Session

    # The titles below may all be in the embedding cache: load the models themselves, or the
    # first unseen title (or the first label's text) would pay ~15 s of imports and loading.
    for agent in agents.values():
        load = getattr(getattr(getattr(agent, "proposer", None), "embedder", None), "load", None)
        if load is not None:
            load()

    items = (Item(item_id="1", title="phone case"), Item(item_id="2", title="screen glass"))
    for mode, agent in agents.items():
        if uses_llm(mode):
            continue
        # a domain the tool was tuned on (a learned scorer knows only those)
        domains = sorted(getattr(getattr(agent, "proposer", None), "settings", {}) or [""])
        agent.generate([Session(session_id="warm-up", domain=domains[0], items=items)])


def served_modes(configured: str, allowed: tuple[str, ...]) -> list[str]:
    """The configured mode first, then the others a request may ask for."""
    modes = [configured, *allowed] if allowed else [configured]
    if not allowed and configured == "agent":
        modes.append("tool")  # the same KB, no LLM: always affordable
    return list(dict.fromkeys(modes))


def load_runtime(config: ProjectConfig, allowed: tuple[str, ...] = ()) -> Runtime:
    """Open the KB (read-only), load the model, and build one agent per served mode.

    Raises:
        ConfigError: a mode needs a KB and none is configured.
        KnowledgeBaseError: the KB cannot be opened or has no grouping tool.
    """
    from bundlekd.app.components import build_agent, build_llm, load_targets, open_kb

    modes = served_modes(config.generation.mode, allowed)
    settings = [config.generation.model_copy(update={"mode": m}) for m in modes]
    kb = None
    if any(s.uses_tool or s.uses_knowledge for s in settings) or config.kb.dir is not None:
        if config.kb.dir is None:
            raise ConfigError("the service needs a knowledge base for these modes: pass --kb DIR")
        kb = open_kb(config.kb, config.embedder)
    llm = None
    if any(s.uses_llm for s in settings):
        llm = build_llm(config.student, batch_size=config.generation.batch_size)
        load: Callable[[], None] | None = getattr(llm, "load", None)
        if load is not None:
            load()  # ready means loaded: not on the first request
    train = load_targets(config.data)[1] if any(s.uses_examples for s in settings) else []

    loaded: dict[str, Any] = {}  # per mode, its tool's embedder: rebuilds reuse the model

    def build_agents(kb: KnowledgeBase | None) -> dict[str, Any]:
        agents = {}
        for mode, generation in zip(modes, settings, strict=True):
            mode_config = config.model_copy(update={"generation": generation})
            agents[mode] = build_agent(
                mode_config,
                llm,  # type: ignore[arg-type]
                train_sessions=train,
                kb=kb,
                tool_embedder=loaded.get(mode),
            )
            proposer = getattr(agents[mode], "proposer", None)
            if proposer is not None:
                loaded[mode] = proposer.embedder
        return agents

    try:
        agents = build_agents(kb)
    except BaseException:
        if llm is not None:
            llm.close()
        raise
    runtime_ = Runtime(agents, kb, llm, config.generation.batch_size)
    runtime_.warm_up()
    if kb is not None:  # the KB's own embedder embeds the texts of knowledge written here
        kb.embedder.load()
    if kb is not None:
        first = kb

        def reopen() -> KnowledgeBase:  # as `open_kb` did, with the embedder already loaded
            from bundlekd.knowledge_base.kb import KnowledgeBase

            return KnowledgeBase.open(
                first.kb_dir, first.embedder, config.kb.index, config.kb.chroma_url, read_only=True
            )

        runtime_.live = LiveKnowledge(runtime_, reopen, build_agents)
    info = {
        "modes": modes,
        "kb": str(kb.kb_dir) if kb is not None else None,
        "chroma_url": config.kb.chroma_url,
    }
    logger.info("service loaded: modes %s, KB %s", modes, info["kb"])
    runtime_.info = info
    return runtime_
