"""Teacher distillation: training sessions → pattern / rule / thought candidates → knowledge base.

`distill(sessions, kinds=..., teacher=..., kb_dir=...)` runs the requested formats (DESIGN.md §1):
patterns (Apriori, no LLM, `distill_patterns`), rules (self-reflection with ground truth,
`distill_rules`) and thoughts (CoT conditioned on ground truth, `distill_thoughts`). Those modules
render prompts and parse answers; this one sends them (P5).

Resuming: the teacher is wrapped in `CachingLLM(teacher, kb_dir/"teacher_cache.sqlite")`, and
every stage is sent as `generate()` calls of up to `chunk_size` requests (one call per stage
when `chunk_size` is None). Greedy requests are cached as each call returns, so a re-run after an
interruption answers every finished call from the cache and only pays for the rest.

Leakage guard (`bundlekd.data.leakage`, the one guard): test sessions and sessions without a
split are refused (LeakageError) unless `force=True`; test sessions never feed patterns or
exemplars, even forced. Every candidate records `source_splits` ("unknown" for a forced session
without a split), and the KB add applies the same guard to them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from bundlekd.data.leakage import SourceCheck, check_sessions
from bundlekd.data.schema import Session
from bundlekd.errors import ConfigError
from bundlekd.files import write_jsonl
from bundlekd.knowledge_base.distill.exemplars import exemplar_items
from bundlekd.knowledge_base.distill.pattern_items import pattern_items
from bundlekd.knowledge_base.distill.rules import (
    RuleSettings,
    distill_rule_outcomes,
    merge_rules,
    rules_prompt_version,
)
from bundlekd.knowledge_base.distill.thoughts import (
    distill_thought_verdicts,
    thought_item,
    thoughts_prompt_version,
)
from bundlekd.knowledge_base.store.items import KINDS, LABEL_KINDS, KnowledgeItem
from bundlekd.llm.base import LLM, ChatRequest, Completion
from bundlekd.llm.cache import CachingLLM

logger = logging.getLogger(__name__)

TEACHER_CACHE = "teacher_cache.sqlite"
TRACE_FILE = "distill_trace.jsonl"
CANDIDATES_FILE = "distill_candidates.jsonl"

#: progress(stage, done, total): called before a stage starts and after each teacher call.
ProgressCallback = Callable[[str, int, int], None]


class CandidateSink(Protocol):
    """What receives the candidates (`KnowledgeBase` satisfies it)."""

    def add(self, candidates: Sequence[KnowledgeItem], *, force: bool = False) -> Any: ...


@dataclass(slots=True)
class DistillReport:
    """What a distillation run produced and cost."""

    teacher: str = ""
    sessions: int = 0
    skipped_no_truth: int = 0
    candidates: list[KnowledgeItem] = field(default_factory=list)
    rules_raw: int = 0
    rule_sessions: int = 0
    rule_failures: int = 0
    thoughts_total: int = 0
    thoughts_accepted: int = 0
    thought_rejections: dict[str, int] = field(default_factory=dict)
    teacher_requests: int = 0
    cache_hits: int = 0
    # what the knowledge cost the teacher: every request's tokens, cached answers included
    teacher_prompt_tokens: int = 0
    teacher_completion_tokens: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    prompt_versions: dict[str, str] = field(default_factory=dict)
    kb_result: Any = None
    trace_path: str = ""

    @property
    def per_kind(self) -> dict[str, int]:
        counts: Counter[str] = Counter(item.kind for item in self.candidates)
        return {kind: counts.get(kind, 0) for kind in KINDS}

    @property
    def teacher_calls(self) -> int:
        """Requests the teacher actually answered (not served from the cache)."""
        return self.teacher_requests - self.cache_hits

    @property
    def teacher_tokens(self) -> int:
        return self.teacher_prompt_tokens + self.teacher_completion_tokens

    @property
    def thought_acceptance(self) -> float | None:
        return self.thoughts_accepted / self.thoughts_total if self.thoughts_total else None

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers (no candidate texts)."""
        data = asdict(self)
        data.pop("candidates")
        counts = getattr(self.kb_result, "counts", None)
        data["kb_result"] = counts() if callable(counts) else self.kb_result
        data.update(
            per_kind=self.per_kind,
            teacher_calls=self.teacher_calls,
            teacher_tokens=self.teacher_tokens,
            thought_acceptance=self.thought_acceptance,
        )
        return data


def check_leakage(sessions: Sequence[Session], kinds: Sequence[str], force: bool) -> SourceCheck:
    """The leakage guard for distillation: test sessions and sessions without a split are
    refused unless forced; test sessions never feed patterns or exemplars (they are labels)."""
    label_kinds = sorted(LABEL_KINDS & set(kinds))
    use = f"distillation of {', '.join(kinds)}"
    if label_kinds:
        use = "pattern mining" if "pattern" in label_kinds else "exemplars"
    return check_sessions(
        sessions,
        use=use,
        force_test=force and not label_kinds,
        force_unknown=force,
        can_force=not label_kinds,
        can_force_unknown=True,
    )


class _Sender:
    """Sends one stage's requests in chunks, counting requests and tokens and reporting
    progress."""

    def __init__(self, llm: LLM, chunk_size: int | None, progress: ProgressCallback | None):
        self.llm, self.chunk_size, self.progress = llm, chunk_size, progress
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def __call__(self, stage: str, requests: list[ChatRequest]) -> list[Completion]:
        total = len(requests)
        if self.progress:
            self.progress(stage, 0, total)
        if not requests:
            return []
        size = self.chunk_size or total
        results: list[Completion] = []
        for start in range(0, total, size):
            answers = self.llm.generate(requests[start : start + size])
            results.extend(answers)
            self.requests += len(requests[start : start + size])
            self.prompt_tokens += sum(a.prompt_tokens for a in answers)
            self.completion_tokens += sum(a.completion_tokens for a in answers)
            if self.progress:
                self.progress(stage, len(results), total)
        return results


def distill(
    sessions: Sequence[Session],
    *,
    kinds: Sequence[str] = KINDS,
    teacher: LLM | None = None,
    kb_dir: str | Path,
    kb: CandidateSink | None = None,
    force: bool = False,
    use_cache: bool = True,
    chunk_size: int | None = 64,
    rule_settings: RuleSettings | None = None,
    thought_tokens: int = 640,
    pattern_options: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> DistillReport:
    """Distil the requested knowledge kinds from training sessions.

    Args:
        sessions: training sessions with ground truth (sample them first: `data.sampling`).
        kinds: any of "pattern", "rule", "thought", "exemplar".
        teacher: the teacher backend (needed for rules and thoughts).
        kb_dir: knowledge-base folder; holds the teacher cache, the run trace
            (`distill_trace.jsonl`) and the candidates (`distill_candidates.jsonl`) of the last run.
        kb: where candidates go (`KnowledgeBase.add`); None returns them in the report only.
        force: allow test sessions for rules and thoughts (never patterns or exemplars), and
            sessions without a split (recorded as "unknown").
        use_cache: wrap the teacher in `CachingLLM` (resumable, no repeated calls).
        chunk_size: requests per `generate()` call within a stage (None: the whole stage).
        rule_settings: token budgets and limits of the rule stages.
        thought_tokens: token budget of a thought answer.
        pattern_options: keyword arguments for `distill.pattern_items.pattern_items`.
        progress: progress(stage, done, total) callback.

    Raises:
        ConfigError: unknown kind, or no teacher for rules/thoughts.
        LeakageError: test sessions or sessions without a split, without `force` (test
            sessions with patterns or exemplars even with it).
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"unknown knowledge kind(s) {unknown}; choose from {', '.join(KINDS)}")
    llm_kinds = [k for k in kinds if k in ("rule", "thought")]
    if llm_kinds and teacher is None:
        raise ConfigError(f"distilling {', '.join(llm_kinds)} needs a teacher model")
    check_leakage(sessions, kinds, force)
    kb_dir = Path(kb_dir)
    kb_dir.mkdir(parents=True, exist_ok=True)
    report = DistillReport(teacher=teacher.model_id if teacher else "", sessions=len(sessions))
    with_truth = [s for s in sessions if s.bundles is not None]
    report.skipped_no_truth = len(sessions) - len(with_truth)
    traces: list[dict[str, Any]] = []

    if "pattern" in kinds:
        started = time.perf_counter()
        report.candidates.extend(pattern_items(with_truth, **(pattern_options or {})))
        report.seconds["pattern"] = time.perf_counter() - started
    if "exemplar" in kinds:
        started = time.perf_counter()
        report.candidates.extend(exemplar_items(with_truth))
        report.seconds["exemplar"] = time.perf_counter() - started

    if llm_kinds:
        assert teacher is not None
        llm = teacher
        if use_cache and not isinstance(teacher, CachingLLM):
            llm = CachingLLM(teacher, kb_dir / TEACHER_CACHE)
        hits_before = llm.hits if isinstance(llm, CachingLLM) else 0
        send = _Sender(llm, chunk_size, progress)
        settings = rule_settings or RuleSettings()
        # Constrained decoding only where the backend can do it (else the schema is noise).
        use_schema = settings.use_json_schema and bool(llm.supports_json_schema)
        settings = replace(settings, use_json_schema=use_schema)
        if "rule" in kinds:
            traces.extend(_rules(with_truth, send, report, settings))
        if "thought" in kinds:
            traces.extend(_thoughts(with_truth, send, report, thought_tokens, use_schema))
        report.teacher_requests = send.requests
        report.teacher_prompt_tokens = send.prompt_tokens
        report.teacher_completion_tokens = send.completion_tokens
        report.cache_hits = (llm.hits - hits_before) if isinstance(llm, CachingLLM) else 0

    if traces:
        write_jsonl(kb_dir / TRACE_FILE, traces)
        report.trace_path = str(kb_dir / TRACE_FILE)
    # Kept even when the KB add fails: `bundlekd kb add KB distill_candidates.jsonl` retries it.
    write_jsonl(kb_dir / CANDIDATES_FILE, [item.to_row() for item in report.candidates])
    if kb is not None and report.candidates:
        report.kb_result = kb.add(report.candidates, force=force)
    logger.info("distilled %s from %d sessions", report.per_kind, len(sessions))
    return report


def _rules(
    sessions: list[Session], send: _Sender, report: DistillReport, settings: RuleSettings
) -> list[dict[str, Any]]:
    started = time.perf_counter()
    version = rules_prompt_version()
    outcomes = distill_rule_outcomes(sessions, send, settings)
    report.candidates.extend(merge_rules(outcomes, teacher=report.teacher, prompt_version=version))
    report.rules_raw = sum(len(o.rules) for o in outcomes)
    report.rule_sessions = sum(1 for o in outcomes if o.rules)
    report.rule_failures = sum(1 for o in outcomes if o.error)
    report.prompt_versions["rule"] = version
    report.seconds["rule"] = time.perf_counter() - started
    return [{"kind": "rule", **o.trace} for o in outcomes]


def _thoughts(
    sessions: list[Session],
    send: _Sender,
    report: DistillReport,
    max_new_tokens: int,
    use_json_schema: bool,
) -> list[dict[str, Any]]:
    started = time.perf_counter()
    version = thoughts_prompt_version()
    verdicts = distill_thought_verdicts(
        sessions, send, max_new_tokens=max_new_tokens, use_json_schema=use_json_schema
    )
    accepted = [v for v in verdicts if v.accepted]
    report.candidates.extend(
        thought_item(v, teacher=report.teacher, prompt_version=version) for v in accepted
    )
    report.thoughts_total = len(verdicts)
    report.thoughts_accepted = len(accepted)
    report.thought_rejections = dict(Counter(v.reason for v in verdicts if not v.accepted))
    report.prompt_versions["thought"] = version
    report.seconds["thought"] = time.perf_counter() - started
    return [{"kind": "thought", **v.trace()} for v in verdicts]
