"""The main job on the embedded sample (`bundlekd demo`): glue only, the logic lives below.

1. A FAISS knowledge base from the sample's training sessions: exemplars (every training
   bundle) and frequent patterns, no teacher needed; the grouping tool (the configured scorer,
   learned by default) is fitted on the training sessions and tuned on the validation sessions.
2. Opt-in (`teacher_sessions` > 0): the teacher (the student model unless `--teacher`) distils
   rules and thoughts from a few training sessions, with bounded token budgets and a time
   budget. Off by default: the 135M default teacher kept 0 rules and 0/3 thoughts in 207 s on
   an AVX2 CPU, so it only cost time; a large teacher is worth turning it on for.
3. Every arm predicts the 12 test sessions, in one model load: the clustering baseline, the
   tool (the default mode), the agent and the study's few-shot and ICL students.
4. One comparison table with the pair floor, intent similarity and sessions/min.

Re-running resumes: the KB, the teacher cache and finished predictions are reused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.base import LLM

logger = logging.getLogger(__name__)

StageCallback = Callable[[str], None]
DEMO_ARMS = ("cluster", "tool", "agent", "few_shot", "icl")
ALL_ARMS = (
    "cluster",
    "cluster_nofallback",
    "tool",
    "agent",
    "agent_name",
    "agent_hints",
    "agent_edit",
    "zero_shot",
    "few_shot",
    "icl",
)
# The 135M default teacher loops when given room: short budgets keep the demo in minutes.
DEMO_RULE_TOKENS = (160, 192)
DEMO_THOUGHT_TOKENS = 256
DEMO_TEACHER_SECONDS = 90.0


@dataclass
class DemoResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)
    distill_summary: dict[str, Any] = field(default_factory=dict)


def _teacher_subset(train: Sequence[Session], n: int) -> list[Session]:
    """`n` seeded random training sessions, taken from the domains in turn."""
    from bundlekd.data.sampling import sample_sessions

    per_domain: list[list[Session]] = []
    for domain in sorted({s.domain for s in train}):
        pool = [s for s in train if s.domain == domain]
        per_domain.append(sample_sessions(pool, min(1.0, n / len(pool)), "random", seed=0))
    interleaved = [s for group in zip(*per_domain, strict=False) for s in group]
    leftovers = [s for group in per_domain for s in group if s not in interleaved]
    return (interleaved + leftovers)[:n]


def run_teacher_stage(
    train: Sequence[Session],
    teacher: LLM,
    kb: KnowledgeBase,
    kb_dir: Path,
    *,
    sessions: int,
    seconds: float,
) -> dict[str, Any]:
    """Rules and thoughts from up to `sessions` training sessions, one at a time, stopping
    once `seconds` are spent (a cached session costs nothing, so a re-run gets as far)."""
    from bundlekd.knowledge_base.distill.rules import RuleSettings
    from bundlekd.knowledge_base.distill.runner import distill

    started = time.perf_counter()
    totals: dict[str, Any] = {
        "teacher": teacher.model_id,
        "sessions_asked": sessions,
        "sessions_done": 0,
        "rules": 0,
        "thoughts_accepted": 0,
        "thoughts_total": 0,
        "teacher_requests": 0,
        "teacher_calls": 0,
        "stopped_for_time": False,
    }
    for session in _teacher_subset(train, sessions):
        if time.perf_counter() - started >= seconds:
            totals["stopped_for_time"] = True
            break
        report = distill(
            [session],
            kinds=["rule", "thought"],
            teacher=teacher,
            kb_dir=kb_dir,
            kb=kb,
            rule_settings=RuleSettings(*DEMO_RULE_TOKENS),
            thought_tokens=DEMO_THOUGHT_TOKENS,
        )
        totals["sessions_done"] += 1
        totals["rules"] += report.per_kind.get("rule", 0)
        totals["thoughts_accepted"] += report.thoughts_accepted
        totals["thoughts_total"] += report.thoughts_total
        totals["teacher_requests"] += report.teacher_requests
        totals["teacher_calls"] += report.teacher_calls
    totals["seconds"] = round(time.perf_counter() - started, 1)
    return totals


def run_demo(
    out_dir: str | Path,
    config: ProjectConfig | None = None,
    *,
    arms: Sequence[str] = DEMO_ARMS,
    teacher_sessions: int = 0,
    teacher_seconds: float = DEMO_TEACHER_SECONDS,
    on_stage: StageCallback | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Run the demo into `out_dir` and return the comparison rows (pair floor first)."""
    from bundlekd.app.components import build_embedder, build_llm, build_teacher
    from bundlekd.app.tool_fitting import fit_tool
    from bundlekd.config import ProjectConfig
    from bundlekd.data.sources import load_sample
    from bundlekd.errors import ConfigError
    from bundlekd.files import write_json
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    unknown = [a for a in arms if a not in ALL_ARMS]
    if unknown:
        raise ConfigError(f"unknown demo arm(s) {unknown}; choose from {', '.join(ALL_ARMS)}")
    config = config or ProjectConfig()
    stage = on_stage or (lambda message: logger.info(message))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_sample()
    train, val, test = dataset.split("train"), dataset.split("val"), dataset.split("test")
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    stage("knowledge base: exemplars and patterns from the training sessions; tool tuned on val")
    embedder = build_embedder(config.embedder)
    kb = KnowledgeBase.create(out / "kb", embedder=embedder, index="faiss")
    labels = distill(train, kinds=["exemplar", "pattern"], kb_dir=out / "kb", kb=kb)
    tool = fit_tool(kb, train, val, embedder, scorer=config.kb.tool_scorer)
    seconds["kb_and_tool"] = time.perf_counter() - started

    from bundlekd.app.arms import run_arms

    llm = build_llm(config.student, batch_size=config.generation.batch_size)
    taught: dict[str, Any] = {}
    try:
        if teacher_sessions > 0:
            started = time.perf_counter()
            teacher = build_teacher(config, llm)
            stage(
                f"teacher {teacher.model_id}: rules and thoughts from up to {teacher_sessions} "
                f"training session(s), at most {teacher_seconds:.0f} s"
            )
            taught = run_teacher_stage(
                train, teacher, kb, out / "kb", sessions=teacher_sessions, seconds=teacher_seconds
            )
            if teacher is not llm:
                teacher.close()
            seconds["teacher"] = time.perf_counter() - started

        rows, arm_seconds = run_arms(
            arms,
            config,
            out,
            test=test,
            train=train,
            val=val,
            kb=kb,
            tool=tool,
            llm=llm,
            embedder=embedder,
            on_stage=stage,
            on_progress=on_progress,
            restart_stale=True,  # after an upgrade changed a default, redo the arm, don't refuse
        )
    finally:  # the model is released even when an arm fails
        llm.close()
    seconds.update(arm_seconds)
    summary = {"labels": labels.summary(), "teacher": taught}
    write_json(out / "summary.json", {"rows": rows, "seconds": seconds, "distill": summary})
    return DemoResult(out_dir=out, rows=rows, seconds=seconds, distill_summary=summary)
