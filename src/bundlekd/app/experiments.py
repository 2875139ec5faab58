"""The study's experiments as resumable recipes (one arm per setting, one comparison table)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.kb_source import KBKnowledgeSource
from bundlekd.data.schema import Session

logger = logging.getLogger(__name__)

StageCallback = Callable[[str], None]


ICL_KIND_ARMS: dict[str, tuple[str, tuple[str, ...]]] = {
    # arm name -> (student mode, knowledge kinds)
    "zero_shot": ("zero_shot", ()),
    "few_shot": ("few_shot", ()),
    "icl_pattern": ("icl", ("pattern",)),
    "icl_rule": ("icl", ("rule",)),
    "icl_thought": ("icl", ("thought",)),
    "icl_all": ("icl", ("pattern", "rule", "thought")),
}


def run_icl_kinds_experiment(
    sessions: Sequence[Session],
    train: Sequence[Session],
    *,
    kb_dir: str | Path,
    out_dir: str | Path,
    model: str = "smollm2",
    arms: Sequence[str] = tuple(ICL_KIND_ARMS),
    top_k: int = 3,
    batch_size: int = 8,
    embedder: str = "minilm",
    on_stage: StageCallback | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """The study's knowledge-format comparison: one student, the same sessions, one arm per
    knowledge kind (plus zero-shot and few-shot without knowledge). Resumable per arm.

    Returns the comparison rows (pair floor first), also written to `out_dir/summary.json`.
    An ICL arm whose knowledge kinds the KB does not hold is marked: its row's method says
    what was missing (e.g. ``icl_rule (no rule)``) and its `note` says it ran without that
    knowledge (without any, it is few-shot under an ICL label); its manifest records it too.
    """
    from bundlekd.agent.examples import ExampleIndex
    from bundlekd.agent.runner import run_batch
    from bundlekd.agent.student import StudentAgent
    from bundlekd.app.comparison import comparison_rows
    from bundlekd.app.components import build_llm
    from bundlekd.data.predictions_jsonl import read_predictions
    from bundlekd.errors import ConfigError
    from bundlekd.eval.evaluator import EvalConfig, evaluate
    from bundlekd.eval.report import write_report
    from bundlekd.files import write_json
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.config import LLMConfig
    from bundlekd.llm.embeddings import get_embedder

    unknown = [arm for arm in arms if arm not in ICL_KIND_ARMS]
    if unknown:
        raise ConfigError(f"unknown arm(s) {unknown}; choose from {', '.join(ICL_KIND_ARMS)}")
    stage = on_stage or (lambda message: logger.info(message))
    out = Path(out_dir)
    llm = build_llm(LLMConfig(model=model), batch_size=batch_size)
    kb = KnowledgeBase.open(kb_dir, read_only=True)
    examples = ExampleIndex(train, get_embedder(embedder))
    targets = [s for s in sessions if s.bundles is not None]
    reports = {}
    notes: dict[str, str] = {}
    for arm in arms:
        mode, kinds = ICL_KIND_ARMS[arm]
        config = AgentConfig(
            mode=mode,  # type: ignore[arg-type]
            top_k=top_k,
            knowledge_kinds=kinds or ("pattern", "rule", "thought"),  # type: ignore[arg-type]
            batch_size=batch_size,
        )
        knowledge = KBKnowledgeSource(kb, kinds=kinds) if mode == "icl" else None
        agent = StudentAgent(
            llm,
            config,
            example_index=examples if config.uses_examples else None,
            knowledge_source=knowledge,
        )
        path = out / "predictions" / f"{arm}.jsonl"
        stage(f"arm {arm}: {mode} {'+'.join(kinds) or ''} on {len(targets)} sessions")
        run_batch(agent, targets, path, on_progress=on_progress)
        report = evaluate(read_predictions(path), targets, EvalConfig(method_name=arm))
        write_report(report, out / "eval" / arm)
        label = arm
        if knowledge is not None and knowledge.missing:
            label = f"{arm} (no {'/'.join(knowledge.missing)})"
            notes[label] = (
                "the KB holds none of its knowledge kinds: it ran as few-shot"
                if knowledge.has_none
                else f"the KB holds no {'/'.join(knowledge.missing)} knowledge"
            )
            stage(f"arm {arm}: {notes[label]}")
        reports[label] = report
    rows = comparison_rows(reports)
    for row in rows:
        if row["method"] in notes:
            row["note"] = notes[row["method"]]
    write_json(
        out / "summary.json",
        {"rows": rows, "model": model, "kb": str(kb_dir), "arms_short_of_knowledge": notes},
    )
    return rows


def run_arms_experiment(
    config: Any,
    out_dir: str | Path,
    arms: Sequence[str],
    *,
    tag: str = "",
    on_stage: StageCallback | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every arm on the configured sessions (`config.data`), resumable; the rows cover every
    arm in `out_dir` so far (runs with other KBs/tags add their arms to one table).

    The KB (`config.kb.dir`) must hold exemplars and a grouping tool for tool/agent arms and
    knowledge for icl; training sessions give worked examples, validation sessions tune the
    clustering baseline. The test split is only predicted and scored.
    """
    from bundlekd.app.arms import ARMS, run_arms
    from bundlekd.app.components import (
        build_embedder,
        build_llm,
        grouping_tool,
        load_targets,
        open_kb,
    )
    from bundlekd.data.sources import load_sessions
    from bundlekd.errors import ConfigError
    from bundlekd.files import write_json

    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise ConfigError(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
    stage = on_stage or (lambda message: logger.info(message))
    out = Path(out_dir)
    data = config.data
    targets, train = load_targets(data)
    if not targets:
        raise ConfigError(f"no {data.split} sessions to run the arms on")
    val = load_sessions(
        data.source, domains=list(data.domains) or None, split="val", data_dir=data.dir
    )
    kb = open_kb(config.kb, config.embedder)
    tool = grouping_tool(kb)
    embedder = build_embedder(config.embedder)
    llm = build_llm(config.student, batch_size=config.generation.batch_size)
    try:
        run_arms(
            arms,
            config,
            out,
            test=targets,
            train=train,
            val=val,
            kb=kb,
            tool=tool,
            llm=llm,
            embedder=embedder,
            on_stage=stage,
            on_progress=on_progress,
            tag=tag,
        )
    finally:
        llm.close()
    tables = collect_rows(out, targets, config, embedder)
    write_json(out / "summary.json", {"tables": tables, "sessions": len(targets)})
    return tables


def collect_rows(
    out: Path, gold: Sequence[Session], config: Any, embedder: Any
) -> dict[str, list[dict[str, Any]]]:
    """Per domain and overall: comparison rows for every predictions file in
    `out/predictions` (pair floor first)."""
    from bundlekd.app.comparison import comparison_rows
    from bundlekd.data.predictions_jsonl import read_predictions
    from bundlekd.eval.evaluator import evaluate
    from bundlekd.eval.intents import IntentScorer
    from bundlekd.files import read_json

    scorer = IntentScorer(embedder)
    reports = {}
    speeds: dict[str, Any] = {}
    for path in sorted((out / "predictions").glob("*.jsonl")):
        name = path.name.removesuffix(".jsonl")
        reports[name] = evaluate(read_predictions(path), gold, config.eval, intent_scorer=scorer)
        manifest = path.with_name(path.name + ".manifest.json")
        if manifest.is_file():
            speeds[name] = read_json(manifest).get("last_run", {}).get("sessions_per_min")
    tables: dict[str, list[dict[str, Any]]] = {}
    for domain in [*sorted({s.domain for s in gold}), "overall"]:
        rows = comparison_rows(reports, domain)
        for row in rows:
            row["sessions_per_min"] = speeds.get(row["method"]) or None
        tables[domain] = rows
    return tables
