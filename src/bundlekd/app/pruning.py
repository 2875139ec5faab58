"""Prune the exemplars whose evidence hurt the grouping tool, and keep that only if val agrees.

1. Credit (`tool_credit`) the KB's exemplars from its own training sessions, each replayed with
   its session left out of the memory: the split the decision is judged on (val) is not used
   to choose what to prune, and test is never read.
2. Candidates: the training sessions whose evidence decided more misses than hits (net credit
   below 0, in at least `min_queries` replayed sessions), most harmful first, at most `top`.
   A session's exemplars go together: dropping one bundle of a session would leave its titles
   in the memory as the session's unbundled items (its sibling exemplars list them as
   `others`), so its bundled pairs would turn into not-bundled evidence.
3. In a scratch copy of the KB (inside it, `.scratch/`): remove them and refit the tool as it
   was fitted (scorer on train, grouping settings on val). The whole prune holds the KB's
   writer lock, and the sessions it draws again must be the ones the tool recorded.
4. Judge on val: keep the pruning only if no domain's strict P or strict unique R drops by
   more than `tolerance`, the tool before and after scored the same way on the same sessions.
5. One operation `prune` in the KB's history either way, its summary the decision and the
   numbers. Kept: the exemplars are marked removed and the refit tool goes in with them (the
   snapshot keeps the state before, so `bundlekd kb rollback` restores the knowledge and its
   tool together). Rejected: nothing changes but the record, which takes no snapshot (a bare
   rollback undoes the last real change, not the record).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd.app.tool_credit import Credit, ToolCredit, credit_tool
from bundlekd.errors import ConfigError, KnowledgeBaseError

if TYPE_CHECKING:
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
    from bundlekd.knowledge_base.kb import KnowledgeBase

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
Scores = dict[str, tuple[float, float]]  # domain -> (strict P, strict unique R)
EPSILON = 1e-9  # float noise, not a drop


@dataclass
class PruneResult:
    decision: str  # kept | rejected | dry run | nothing to prune
    credit: ToolCredit
    candidates: list[Credit]  # training sessions (keys "domain/session_id"), most harmful first
    removed: list[str]  # their exemplar ids
    val_before: Scores
    val_after: Scores = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)  # "before"/"after": policy@threshold
    operation: int | None = None  # the history entry


def prune_kb(
    kb_dir: Path,
    *,
    top: int = 20,
    min_queries: int = 3,
    tolerance: float = 0.0,
    dry_run: bool = False,
    data_dir: Path | None = None,
    progress: Progress | None = None,
    accept_data_change: bool = False,
) -> PruneResult:
    """Credit, prune, refit and judge on val (module docstring).

    A prune that may write holds the KB's writer lock from the start: no other writer changes
    the knowledge or the tool it credits, and its scratch copy lives in the KB's `.scratch/`
    (deleted by the next writer if this one is killed).

    Raises:
        ConfigError: a count below 1, a tolerance that is negative, NaN or infinite; the KB
            does not say how its tool was fitted, or no val sessions.
        KnowledgeBaseError: not a KB, no exemplars or no tool, a tool fitted on another
            knowledge state, a cosine tool.
        LeakageError: the tool records a fit split other than train.
        DataError: the sessions drawn again are not the ones the tool recorded (unless
            `accept_data_change`, which the prune's history entry then logs).
    """
    from bundlekd.app.tool_commit import check_data_identity, draw_fit_sessions, require_exemplars
    from bundlekd.app.tool_fitting import fit_tool_as
    from bundlekd.knowledge_base.grouping.tool import tool_path
    from bundlekd.knowledge_base.store.scratch import scratch_copy
    from bundlekd.numbers import count, finite

    count(top, "--top")
    count(min_queries, "--min-sessions")
    tolerance = finite(tolerance, "--tolerance", low=0.0)
    require_exemplars(kb_dir, "prune")
    if not tool_path(kb_dir).is_file():
        raise KnowledgeBaseError(
            f"{kb_dir}: no grouping tool to prune with; fit one with `bundlekd kb refit-tool "
            f"{kb_dir}`"
        )
    kb = _open(kb_dir, write=not dry_run)
    guard = contextlib.nullcontext() if dry_run else kb.store.locked("prune")
    with guard:
        drift = kb.tool_drift()
        if drift is not None:
            raise KnowledgeBaseError(f"{drift}; prune a KB whose tool matches its knowledge")
        fit = _fit_settings(kb_dir)
        train, val = draw_fit_sessions(fit, data_dir, where=str(tool_path(kb_dir)))
        if not any(s.bundles for s in val):
            raise ConfigError(f"{fit['source']}: no labelled val sessions to judge the pruning on")
        changed = check_data_identity(kb_dir, train, val, accept=accept_data_change)
        start = kb.knowledge_hash()
        tool = kb.grouping_tool(_embedder(kb, fit))

        def step(stage: str) -> Callable[[int, int], None]:
            return lambda done, total: progress(stage, done, total) if progress else None

        credit = credit_tool(tool, kb.items(), train, progress=step("crediting exemplars on train"))
        candidates = sorted(
            (c for c in credit.sessions.values() if c.net < 0 and len(c.queries) >= min_queries),
            key=lambda c: (c.net, c.key),
        )[:top]
        removed = sorted({i for c in candidates for i in credit.members.get(c.key, [])})
        before = tool_scores(tool, val)
        result = PruneResult("dry run", credit, candidates, removed, before)
        result.settings["before"] = _settings(tool)
        if not removed:
            result.decision = "nothing to prune"
        if dry_run or not removed:
            return result

        with scratch_copy(kb_dir, "prune") as copy:
            pruned = _open(copy, write=True)
            pruned.remove(removed)
            refit = fit_tool_as(
                pruned, fit, train=train, data_dir=data_dir, progress=progress, record=None
            )
            result.val_after = tool_scores(refit, val)
            result.settings["after"] = _settings(refit)
            tool_text = tool_path(copy).read_text("utf-8")
        worse = [
            d
            for d, (p, r) in before.items()
            if d not in result.val_after
            or result.val_after[d][0] < p - tolerance - EPSILON
            or result.val_after[d][1] < r - tolerance - EPSILON
        ]
        result.decision = "rejected" if worse else "kept"
        summary = _summary(result, credit, top, min_queries, tolerance, worse)
        if changed:
            summary["data_changed"] = changed
        kept = removed if not worse else []
        result.operation = _record(kb, start, kept, tool_text, summary)
    logger.info("prune of %s: %s (%s)", kb_dir, result.decision, summary)
    return result


def _open(kb_dir: Path, *, write: bool) -> KnowledgeBase:
    """The KB with its recorded embedder and index, for reading or writing (never created)."""
    from bundlekd.app.components import open_kb
    from bundlekd.knowledge_base.config import KBConfig
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore
    from bundlekd.llm.config import EmbedderConfig

    if not KnowledgeStore(kb_dir).exists():
        raise KnowledgeBaseError(f"{kb_dir}: not a knowledge base (no knowledge.jsonl)")
    return open_kb(KBConfig(dir=kb_dir), EmbedderConfig(), create=write)


def tool_scores(tool: GroupingTool, sessions: Sequence[Session]) -> Scores:
    """Strict P and strict unique R per domain of the tool's groups on labelled sessions."""
    from bundlekd.eval.metrics import HEADLINE, aggregate_all, score_session

    labelled = [s for s in sessions if s.bundles]
    _, matrices = tool.score(labelled)
    per_domain: dict[str, list[Any]] = {}
    for session, matrix in zip(labelled, matrices, strict=True):
        predicted = [[session.items[k].item_id for k in g] for g in tool.group(session, matrix)]
        gold = [b.items for b in session.bundles or ()]
        per_domain.setdefault(session.domain, []).append(score_session(predicted, gold))
    heads = {d: aggregate_all(scores)[HEADLINE] for d, scores in sorted(per_domain.items())}
    return {d: (h.precision, h.recall) for d, h in heads.items()}


def _settings(tool: GroupingTool) -> str:
    """The tool's grouping settings, e.g. `pairs@0.60` (per domain where they differ)."""
    chosen = {d: f"{s.policy}@{s.threshold:.2f}" for d, s in sorted(tool.settings.items())}
    if len(set(chosen.values())) == 1:
        return next(iter(chosen.values()))
    return ", ".join(f"{d} {v}" for d, v in chosen.items())


def _fit_settings(kb_dir: Path) -> dict[str, Any]:
    """How the tool was fitted (`recorded_fit`), with its feature groups where only the tool
    file says them (tools fitted before `fit` recorded them)."""
    from bundlekd.app.tool_fitting import recorded_fit
    from bundlekd.files import read_json
    from bundlekd.knowledge_base.grouping.tool import tool_path

    fit = recorded_fit(kb_dir)
    groups = read_json(tool_path(kb_dir)).get("metadata", {}).get("feature_groups")
    if "features" not in fit and isinstance(groups, list):
        fit["features"] = groups
    if fit.get("scorer", "cosine") != "learned":
        raise KnowledgeBaseError(
            f"{kb_dir}: its grouping tool uses the {fit.get('scorer', 'cosine')} scorer, which "
            "decides pairs without exemplar evidence; pruning needs --tool-scorer learned"
        )
    return fit


def _embedder(kb: KnowledgeBase, fit: dict[str, Any]) -> Any:
    from bundlekd.app.components import build_embedder
    from bundlekd.llm.config import EmbedderConfig

    name = fit.get("tool_embedder")
    return build_embedder(EmbedderConfig(name=name)) if name else kb.embedder


def _rounded(scores: Scores) -> dict[str, list[float]]:
    return {d: [round(p, 4), round(r, 4)] for d, (p, r) in sorted(scores.items())}


def _summary(
    result: PruneResult,
    credit: ToolCredit,
    top: int,
    min_queries: int,
    tolerance: float,
    worse: list[str],
) -> dict[str, Any]:
    return {
        "decision": result.decision,
        "removed": len(result.removed) if not worse else 0,
        "candidates": len(result.removed),
        "sessions": [c.key for c in result.candidates],
        "credited_on": f"train, own session left out ({credit.queries} sessions)",
        "top": top,
        "min_sessions": min_queries,
        "tolerance": tolerance,
        "judged_on": "val",
        "val_before": _rounded(result.val_before),
        "val_after": _rounded(result.val_after),
        "settings": result.settings,
        **({"worse_in": worse} if worse else {}),
    }


def _record(
    kb: KnowledgeBase, start: str, removed: list[str], tool_text: str, summary: dict[str, Any]
) -> int:
    """One `prune` operation: the removals and the refit tool together, or only the record."""
    from bundlekd.knowledge_base.grouping.tool import TOOL_DIR, TOOL_FILE
    from bundlekd.knowledge_base.store.state import knowledge_hash

    store = kb.store
    with store.transaction("prune") as tx:
        if knowledge_hash(tx.items.values()) != start:
            raise KnowledgeBaseError(
                f"{kb.kb_dir}: the knowledge changed while it was being pruned; nothing was "
                "written, run the prune again"
            )
        for item_id in removed:
            tx.put(tx.items[item_id].replace(status="removed", superseded_by=None), "prune")
        if removed:
            tx.files = {f"{TOOL_DIR}/{TOOL_FILE}": tool_text}
            try:
                kb.index.refresh()
            except KnowledgeBaseError as exc:  # the next open or add syncs it
                logger.warning("%s; the index is synced on the next update", exc)
            else:
                kb.index.delete(removed)
                kb.index.save()
        tx.changed = True  # a rejected prune is recorded too
        tx.summary = summary
    return store.last_seq()


def prune_report(
    result: PruneResult, texts: dict[str, str], *, show: int, min_queries: int
) -> list[str]:
    """Printable lines: what the credit saw, the most helpful and harmful exemplars, the
    pruned sessions, val before and after, the decision."""
    from bundlekd.app.study.utility import ItemUtility
    from bundlekd.app.utility_view import utility_lines

    credit = result.credit
    counts = ", ".join(f"{name}: {n}" for name, n in credit.decided.items())
    lines = [f"credited on {credit.queries} training sessions, own session left out: {counts}"]
    ranked = sorted(
        (
            ItemUtility(c.key, len(c.queries), c.net)
            for c in credit.exemplars.values()
            if len(c.queries) >= min_queries
        ),
        key=lambda u: (-u.utility, -u.sessions, u.item_id),
    )
    lines += utility_lines(ranked, texts, top=show, min_sessions=min_queries)
    lines.append(f"pruned sessions ({len(result.candidates)}, {len(result.removed)} exemplars)")
    for c in result.candidates[:show]:
        members = len(credit.members.get(c.key, []))
        lines.append(f"  {c.net:+.3f}  n={len(c.queries):<4} {c.key}  ({members} exemplars)")
    if len(result.candidates) > show:
        lines.append(f"  ... {len(result.candidates) - show} more")
    lines.append("val strict P / strict unique R    before         after")
    for domain, (p, r) in sorted(result.val_before.items()):
        after = result.val_after.get(domain)
        shown = f"{after[0]:.3f} / {after[1]:.3f}" if after else "-"
        lines.append(f"  {domain:<30} {p:.3f} / {r:.3f}  {shown}")
    if result.settings:
        lines.append("  grouping " + ", ".join(f"{k} {v}" for k, v in result.settings.items()))
    where = f" (history #{result.operation})" if result.operation is not None else ""
    lines.append(f"decision: {result.decision}{where}")
    return lines
