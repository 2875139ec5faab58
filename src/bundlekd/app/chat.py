"""A chat over one session: pick or type the session, wire the student, start the chat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bundlekd.errors import ConfigError, DataError

if TYPE_CHECKING:
    from bundlekd.agent.chat import ChatSession, LabelSaver
    from bundlekd.agent.student import StudentAgent
    from bundlekd.agent.tool_agent import ToolAgent
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.retrieval.item_memory import ItemMemory
    from bundlekd.llm.base import LLM


def pick_session(
    config: ProjectConfig, session_id: str | None, titles: Sequence[str] | None
) -> tuple[Session, list[Session]]:
    """(the session to chat about, training sessions of its domain for worked examples).

    Either `session_id` names a session of `config.data`, or `titles` form an ad-hoc one.
    """
    from bundlekd.agent import session_from_titles
    from bundlekd.data.sources import load_sessions

    data = config.data
    if session_id is not None and titles:
        raise ConfigError("give --session-id or --items, not both")
    if session_id is None and not titles:
        raise ConfigError("no products given")
    domains = list(data.domains)
    every = load_sessions(data.source, domains=domains or None, split="all", data_dir=data.dir)
    train = [s for s in every if s.split == "train"]
    if session_id is not None:
        found = [s for s in every if s.session_id == session_id]
        if not found:
            where = ",".join(domains) or "all"
            raise DataError(f"no session {session_id!r} in {data.source} (domains {where})")
        if len(found) > 1:
            raise ConfigError(f"session id {session_id!r} exists in several domains: add --domain")
        session = found[0]
    else:
        session = session_from_titles(
            list(titles or ()), domain=domains[0] if domains else "custom"
        )
    return session, [s for s in train if s.domain == session.domain] or train


def open_chat(
    config: ProjectConfig,
    session: Session,
    train: Sequence[Session],
    *,
    infer_domain: bool = False,
    phrase_with_llm: bool = False,
) -> tuple[ChatSession, LLM, str | None]:
    """A ChatSession over `session` with the configured student (close the LLM when done),
    and a note to show when the session's domain was inferred.

    "why" questions are answered from the grouping tool's evidence (modes tool and agent);
    `phrase_with_llm` lets the model add a short wording after the evidence (worth it only
    with a capable model: the 135M default repeats itself).

    `infer_domain` (typed-in products, no --domain): with a grouping tool, the session takes
    the domain of the KB exemplars nearest its titles, since a learned tool scores only the
    domains it has a memory of.
    """
    from bundlekd.agent import ChatSession, session_from_titles
    from bundlekd.app.components import build_agent, build_llm

    llm = build_llm(config.student, batch_size=1)
    note = None
    try:
        agent = build_agent(config, llm, train_sessions=train)
        memory = getattr(getattr(agent, "proposer", None), "memory", None)
        if infer_domain and memory is not None:
            inferred = nearest_domain(memory, session.titles)
            if inferred is not None:
                domain, share = inferred
                session = session_from_titles(list(session.titles), domain=domain)
                note = (
                    f"domain {domain}: inferred from the KB's exemplars nearest these titles "
                    f"({share:.0%} of the vote); --domain sets it"
                )
    except BaseException:
        llm.close()
        raise
    saver = label_saver(config, llm, train) if config.kb.dir is not None else None
    chat = ChatSession(agent, session, phrase_with_llm=phrase_with_llm, save=saver)
    return chat, llm, note


def label_saver(config: ProjectConfig, llm: LLM, train: Sequence[Session]) -> LabelSaver:
    """Chat's `save`: the session's bundles become its exemplars in the KB (`app.feedback`),
    and the chat goes on with an agent built from the KB as it is now."""
    from bundlekd.app.components import build_agent
    from bundlekd.app.feedback import relabel_message, save_labels

    def save(session: Session) -> tuple[str, StudentAgent | ToolAgent | None]:
        saved = save_labels(config, [session], "chat")
        (result,) = saved.results
        message = relabel_message(result)
        if saved.refit:
            message += f"; the tool was refit ({saved.labelled_since_fit} labels since its fit)"
        if not result.changed and not saved.refit:
            return message, None
        return message, build_agent(config, llm, train_sessions=train)

    return save


def nearest_domain(
    memory: ItemMemory, titles: Sequence[str], k: int = 5
) -> tuple[str, float] | None:
    """The domain of the item-memory exemplars nearest `titles` (a similarity-weighted vote
    over each title's k nearest) and its share of the vote; None for an empty memory."""
    votes: dict[str, float] = {}
    for neighbours in memory.nearest(list(titles), k):
        for neighbour in neighbours:
            votes[neighbour.domain] = (
                votes.get(neighbour.domain, 0.0) + max(neighbour.score, 0.0) + 1e-6
            )
    if not votes:
        return None
    domain, weight = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
    return domain, weight / sum(votes.values())
