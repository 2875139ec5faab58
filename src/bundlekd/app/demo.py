"""The main job on the embedded sample (`bundlekd demo`): glue only, the logic lives below."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.kb_source import KBKnowledgeSource
from bundlekd.data.schema import Prediction, Session

logger = logging.getLogger(__name__)

StageCallback = Callable[[str], None]
DEMO_MODES = ("zero_shot", "few_shot", "icl")


@dataclass
class DemoResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)
    distill_summary: dict[str, Any] = field(default_factory=dict)


def _teacher_subset(train: Sequence[Session], per_domain: int) -> list[Session]:
    from bundlekd.data.sampling import sample_sessions

    chosen: list[Session] = []
    for domain in sorted({s.domain for s in train}):
        pool = [s for s in train if s.domain == domain]
        chosen.extend(sample_sessions(pool, min(1.0, per_domain / len(pool)), "random", seed=0))
    return chosen


def run_demo(
    out_dir: str | Path,
    *,
    model: str = "smollm2",
    teacher: str | None = None,
    teacher_sessions_per_domain: int = 1,
    modes: Sequence[str] = DEMO_MODES,
    on_stage: StageCallback | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """The main job on the embedded sample: baselines, a distilled KB, the student, scores.

    Steps: Apriori baseline; distil patterns (all training sessions) plus rules and thoughts (a
    few training sessions; the teacher defaults to the student model) into a FAISS KB; run the
    student zero-shot, few-shot and with knowledge in context; score all with the pair floor.
    Re-running reuses the KB, the teacher cache and finished predictions.
    """
    from bundlekd.agent.examples import ExampleIndex
    from bundlekd.agent.runner import run_batch
    from bundlekd.agent.student import StudentAgent
    from bundlekd.baselines.apriori import AprioriBaseline
    from bundlekd.data.predictions_jsonl import read_predictions, write_predictions
    from bundlekd.data.sources import load_sample
    from bundlekd.eval.compare import comparison_rows
    from bundlekd.eval.evaluator import EvalConfig, evaluate
    from bundlekd.eval.report import write_report
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import get_embedder
    from bundlekd.llm.registry import get_llm

    stage = on_stage or (lambda message: logger.info(message))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_sample()
    train, test = dataset.split("train"), dataset.split("test")
    seconds: dict[str, float] = {}
    reports = {}

    def score(name: str, predictions: list[Prediction]) -> None:
        report = evaluate(predictions, test, EvalConfig(method_name=name))
        write_report(report, out / "eval" / name)
        reports[name] = report

    started = time.perf_counter()
    stage("Apriori baseline (patterns mined from training bundles, categories inferred)")
    embedder = get_embedder("minilm")
    apriori = AprioriBaseline(embedder=embedder).fit(train).predict(test)
    write_predictions(out / "predictions" / "apriori.jsonl", apriori)
    score("apriori", apriori)
    seconds["apriori"] = time.perf_counter() - started

    started = time.perf_counter()
    stage(f"loading the student model {model!r} (the first run converts it once)")
    llm = get_llm(model)
    teacher_llm = llm if teacher in (None, model) else get_llm(teacher)
    seconds["model_load"] = time.perf_counter() - started

    started = time.perf_counter()
    stage("distilling knowledge into the KB (patterns, rules, thoughts)")
    kb = KnowledgeBase.create(out / "kb", embedder=embedder, index="faiss")
    patterns = distill(train, kinds=["pattern"], kb_dir=out / "kb", kb=kb)
    subset = _teacher_subset(train, teacher_sessions_per_domain)
    taught = distill(
        subset, kinds=["rule", "thought"], teacher=teacher_llm, kb_dir=out / "kb", kb=kb
    )
    seconds["distill"] = time.perf_counter() - started
    distill_summary = {"patterns": patterns.summary(), "teacher": taught.summary()}

    examples = ExampleIndex(train, embedder)
    for mode in modes:
        started = time.perf_counter()
        stage(f"student: {mode} on {len(test)} test sessions")
        config = AgentConfig(mode=mode)  # type: ignore[arg-type]
        knowledge = KBKnowledgeSource(kb, kinds=config.knowledge_kinds) if mode == "icl" else None
        agent = StudentAgent(
            llm,
            config,
            example_index=examples if config.uses_examples else None,
            knowledge_source=knowledge,
        )
        path = out / "predictions" / f"student_{mode}.jsonl"
        run_batch(agent, test, path, on_progress=on_progress)
        score(f"student {mode}", read_predictions(path))
        seconds[f"student_{mode}"] = time.perf_counter() - started

    rows = comparison_rows(reports)
    from bundlekd.files import write_json

    write_json(out / "summary.json", {"rows": rows, "seconds": seconds, "distill": distill_summary})
    return DemoResult(out_dir=out, rows=rows, seconds=seconds, distill_summary=distill_summary)
