"""Scoring as one call: read predictions, load the gold sessions, evaluate, write the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bundlekd.config import ProjectConfig
    from bundlekd.eval.evaluator import EvalReport


@dataclass(frozen=True)
class EvalRun:
    report: EvalReport
    results_path: Path
    samples_path: Path

    @property
    def warnings(self) -> list[str]:
        return self.report.warnings


def predictions_warnings(predictions_path: Path) -> list[str]:
    """What the predictions' manifest (`<file>.manifest.json`) says a reader must know: the
    run's warnings (knowledge from the test split or of unknown split, missing knowledge
    kinds, a forced resume) and whether the run stopped before finishing."""
    from bundlekd.agent.manifest import manifest_path, run_warnings
    from bundlekd.errors import DataError
    from bundlekd.files import read_json

    path = manifest_path(predictions_path)
    if not path.is_file():
        return []
    try:
        manifest = read_json(path)
    except DataError as exc:
        return [f"unreadable predictions manifest: {exc}"]
    if not isinstance(manifest, dict):
        return []
    found = [str(w) for w in manifest.get("warnings") or []]
    found += run_warnings(manifest)  # manifests written before "warnings" existed
    if manifest.get("complete") is False:
        stopped = manifest.get("stopped_by") or "interrupted"
        found.append(f"the predictions run did not finish ({stopped}): re-run it to complete")
    return list(dict.fromkeys(found))


def gold_split(gold: str, split: str | None) -> str:
    """The split to score: as given; else `test` for named sources and the whole of a file."""
    if split is not None:
        return split
    return "test" if gold in ("aicl", "sample") else "all"


def run_evaluation(
    config: ProjectConfig,
    predictions_path: Path,
    gold: str,
    *,
    split: str | None = None,
    out_dir: Path | None = None,
    intents: bool = True,
    judge: str | None = None,
) -> EvalRun:
    """Score `predictions_path` against `gold` ("aicl", "sample" or a sessions file).

    Args:
        intents: score hit intents against GT intents (cosine with the configured embedder and
            ROUGE-L).
        judge: an LLM spec whose yes/no verdicts add a third intent score.

    Raises:
        DataError: unreadable predictions, nothing to score (naming the filter that emptied it).
    """
    from bundlekd.data.predictions_jsonl import read_predictions
    from bundlekd.data.sources import load_sessions
    from bundlekd.errors import DataError
    from bundlekd.eval import evaluate, write_report
    from bundlekd.eval.intents import IntentScorer
    from bundlekd.files import file_sha256

    chosen_split = gold_split(gold, split)
    domains = list(config.data.domains) or None
    predictions = read_predictions(predictions_path)
    sessions = load_sessions(gold, domains=domains, split=chosen_split, data_dir=config.data.dir)
    everything = sessions or load_sessions(
        gold, domains=domains, split="all", data_dir=config.data.dir
    )
    if everything and not sessions:
        present = sorted({str(s.split) for s in everything})
        raise DataError(
            f"--split {chosen_split} left none of the {len(everything)} gold sessions in {gold} "
            f"(their splits: {', '.join(present)})"
        )
    scorer = None
    if intents or judge:
        from bundlekd.app.components import build_embedder

        embedder = build_embedder(config.embedder) if intents else None
        scorer = IntentScorer(embedder, judge=_judge(config, judge) if judge else None)
    report = evaluate(predictions, sessions, config.eval, intent_scorer=scorer)
    report = report.model_copy(
        update={
            "warnings": predictions_warnings(predictions_path),
            "sources": {
                "predictions": str(predictions_path),
                "predictions_sha256": file_sha256(predictions_path),
                "gold": gold,
                "split": chosen_split,
                "domains": ",".join(domains or []) or "all",
            },
        }
    )
    target = out_dir or predictions_path.with_name(f"{predictions_path.stem}.eval")
    results_path, samples_path = write_report(report, target)
    return EvalRun(report, results_path, samples_path)


def _judge(config: ProjectConfig, spec: str):  # type: ignore[no-untyped-def]
    from bundlekd.app.components import build_llm
    from bundlekd.eval.judge import LLMIntentJudge

    return LLMIntentJudge(build_llm(config.teacher.model_copy(update={"model": spec})))
