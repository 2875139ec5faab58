"""Labelled sessions into a KB: chat's `save` and `bundlekd kb add --sessions`.

Each session is one `feedback` operation of the KB's history (`KnowledgeBase.relabel`), so
`kb rollback` undoes one label at a time. The tool's memory takes the new exemplars the next
time the tool is built (a running service: at once). Its weights are refit only by `kb
refit-tool`, or here once `kb.tool_refit_after` sessions were labelled since the tool's fit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bundlekd.knowledge_base.distill.labelled import check_labelable

if TYPE_CHECKING:
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.knowledge_base.store.relabel import RelabelResult

logger = logging.getLogger(__name__)

FIT_OPS = ("fit-tool", "refit-tool")


@dataclass
class SavedLabels:
    """What saving labelled sessions did, per session, and whether the tool was refit."""

    results: list[RelabelResult] = field(default_factory=list)
    refit: bool = False
    labelled_since_fit: int = 0

    def counts(self) -> dict[str, int]:
        totals = {"sessions": len(self.results), "changed": 0}
        for result in self.results:
            totals["changed"] += int(result.changed)
            for key, value in result.counts().items():
                totals[key] = totals.get(key, 0) + value
        return totals


def labelled_since_fit(kb: KnowledgeBase) -> int:
    """Sessions labelled (`feedback` operations that changed something) since the tool's
    last fit; a rolled-back one still counts (conservative: refits no later than asked)."""
    count = 0
    for event in reversed(kb.history()):
        if event.get("op") in FIT_OPS:
            break
        if event.get("op") == "feedback" and event.get("snapshot") is not None:
            count += 1
    return count


def save_labels(
    config: ProjectConfig,
    sessions: Sequence[Session],
    source: str,
    *,
    author: str | None = None,
    force: bool = False,
) -> SavedLabels:
    """`label_sessions` into `config.kb.dir` with its `kb.tool_refit_after`.

    Raises:
        ConfigError: no KB configured; and what `label_sessions` raises.
    """
    from bundlekd.app.components import open_kb

    for session in sessions:  # refuse a bad batch before opening (or creating) anything
        check_labelable(session)
    kb = open_kb(config.kb, config.embedder, create=True)
    return label_sessions(
        kb,
        sessions,
        source,
        author=author,
        force=force,
        refit_after=config.kb.tool_refit_after,
        data_dir=config.data.dir,
    )


def label_sessions(
    kb: KnowledgeBase,
    sessions: Sequence[Session],
    source: str,
    *,
    author: str | None = None,
    force: bool = False,
    refit_after: int = 0,
    data_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SavedLabels:
    """Write each labelled session into `kb` (one history operation each), then refit the
    tool when `refit_after` (> 0) sessions were labelled since its fit.

    Raises:
        LeakageError: a test or val session (nothing is written then).
        DataError: a session without bundles (nothing is written then).
        KnowledgeBaseError: the KB cannot be written.
    """
    from bundlekd.knowledge_base.distill.labelled import Provenance

    for session in sessions:
        check_labelable(session)
    saved = SavedLabels()
    for done, session in enumerate(sessions, start=1):
        provenance = Provenance(source, author) if author else Provenance(source)
        saved.results.append(kb.relabel(session, provenance, force=force))
        if progress is not None:
            progress(done, len(sessions))
    saved.labelled_since_fit = labelled_since_fit(kb)
    if refit_after > 0 and saved.labelled_since_fit >= refit_after and kb.tool_drift():
        from bundlekd.app.tool_fitting import refit_tool

        logger.info(
            "%d sessions labelled since the tool's fit (kb.tool_refit_after %d): refitting",
            saved.labelled_since_fit,
            refit_after,
        )
        refit_tool(kb.kb_dir, data_dir=data_dir)
        saved.refit = True
    return saved


def relabel_message(result: RelabelResult) -> str:
    """One line: what a label did to its session's exemplars."""
    if not result.changed:
        return f"{result.domain}/{result.session_id}: the KB already holds this label"
    parts = [f"{n} {k}" for k, n in result.counts().items() if n and k != "unchanged"]
    return (
        f"{result.domain}/{result.session_id}: saved as knowledge ({', '.join(parts)}; KB "
        f"operation #{result.seq}, undo with `bundlekd kb rollback`)"
    )
