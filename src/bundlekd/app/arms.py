"""Comparison arms on the same sessions: baselines, the tool, the agent, the study's students.

Every arm writes a resumable predictions file under `out/predictions/` and a report under
`out/eval/`; the rows come back pair floor first, with intent similarity and sessions/min.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.agent.kb_source import KBKnowledgeSource
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.base import LLM
    from bundlekd.llm.embeddings import Embedder

#: arm -> (generation mode, settings)
ARM_SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "tool": ("tool", {}),
    "agent": ("agent", {}),
    "agent_name": ("agent", {"variant": "name", "intent_choice": "free"}),
    "agent_hints": ("agent", {"variant": "name", "intent_choice": "hints"}),
    "agent_edit": ("agent", {"variant": "edit"}),
    "zero_shot": ("zero_shot", {}),
    "few_shot": ("few_shot", {}),
    "icl": ("icl", {}),
}


def run_arms(
    arms: Sequence[str],
    config: ProjectConfig,
    out: Path,
    *,
    test: Sequence[Session],
    train: Sequence[Session],
    val: Sequence[Session],
    kb: KnowledgeBase,
    tool: GroupingTool,
    llm: LLM,
    embedder: Embedder,
    on_stage: Callable[[str], None],
    on_progress: Callable[[int, int], None] | None = None,
    tag: str = "",
    restart_stale: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Run each arm (resuming finished predictions), score it, return rows and seconds.

    `restart_stale` redoes an arm whose file was made with another configuration instead of
    refusing it (the demo owns its folder; an experiment's folder is the user's).

    `tag` names a variant of the setup (e.g. "tuned" for a KB whose tool has the tuned
    embedder): its arms are saved and reported as "ARM@TAG".
    """
    from bundlekd.agent.examples import ExampleIndex
    from bundlekd.agent.runner import run_batch
    from bundlekd.agent.student import StudentAgent
    from bundlekd.agent.tool_agent import ToolAgent
    from bundlekd.app.comparison import comparison_rows
    from bundlekd.app.components import knowledge_source
    from bundlekd.baselines.cluster import ClusterBaseline
    from bundlekd.data.predictions_jsonl import read_predictions, write_predictions
    from bundlekd.eval.evaluator import evaluate
    from bundlekd.eval.intents import IntentScorer
    from bundlekd.eval.report import write_report

    scorer = IntentScorer(embedder)
    reports = {}
    speed: dict[str, float | None] = {}
    seconds: dict[str, float] = {}
    examples: ExampleIndex | None = None
    for arm in arms:
        started = time.perf_counter()
        label = f"{arm}@{tag}" if tag else arm
        path = out / "predictions" / f"{label}.jsonl"
        on_stage(f"{label} on {len(test)} sessions")
        if arm in ("cluster", "cluster_nofallback"):
            baseline = ClusterBaseline(embedder, fallback_pair=arm == "cluster")
            baseline.tune(val)
            write_predictions(path, baseline.predict(test))
            speed[label] = None
        else:
            mode, settings = ARM_SETTINGS[arm]
            generation = config.generation.model_copy(update={"mode": mode, **settings})
            agent: StudentAgent | ToolAgent
            source: KBKnowledgeSource | None
            if generation.uses_tool:
                # Only the agent reads knowledge; the tool arm has no source, so no warning
                # about kinds it never uses.
                source = (
                    knowledge_source(kb, generation, config.retrieval)
                    if generation.uses_knowledge
                    else None
                )
                agent = ToolAgent(tool, generation, llm if generation.uses_llm else None, source)
            else:
                if generation.uses_examples and examples is None:
                    examples = ExampleIndex(train, embedder)
                source = (
                    knowledge_source(kb, generation, config.retrieval)
                    if generation.uses_knowledge
                    else None
                )
                agent = StudentAgent(
                    llm,
                    generation,
                    example_index=examples if generation.uses_examples else None,
                    knowledge_source=source,
                )
            summary = run_batch(
                agent, test, path, on_progress=on_progress, restart_stale=restart_stale
            )
            speed[label] = summary.sessions_per_min if summary.n_done else None
        report = evaluate(read_predictions(path), test, config.eval, intent_scorer=scorer)
        write_report(report, out / "eval" / label)
        reports[label] = report
        seconds[label] = time.perf_counter() - started
    rows = comparison_rows(reports)
    for row in rows:
        row["sessions_per_min"] = speed.get(row["method"])
    return rows, seconds


ARMS: tuple[str, ...] = ("cluster", "cluster_nofallback", *ARM_SETTINGS)
