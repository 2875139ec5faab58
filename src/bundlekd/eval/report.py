"""Serialize an `EvalReport`: results.json + samples.jsonl (like lm-eval), and a rich table.

results.json holds the aggregates of every domain and variant for the method and the pair
floor, the config, the versions and the match diagnostics; samples.jsonl holds one line per
gold session with what was predicted, the ground truth and the session's scores.
"""

from __future__ import annotations

import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundlekd import __version__
from bundlekd.eval.evaluator import EvalReport, GroupResult, SampleRecord
from bundlekd.eval.floors import PAIR_FLOOR_METHOD
from bundlekd.eval.metrics import HEADLINE, REFERENCE, VERSIONS, Aggregate
from bundlekd.eval.tables import TableData, columns, to_rich
from bundlekd.files import write_json, write_jsonl

RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"
# Bump when a metric definition changes, so old results.json files are not compared blindly.
METRICS_VERSION = "1"


def write_report(report: EvalReport, out_dir: str | Path) -> tuple[Path, Path]:
    """Write results.json and samples.jsonl into `out_dir` (each file atomically).

    Returns:
        The paths of results.json and samples.jsonl.
    """
    out_dir = Path(out_dir)
    results_path, samples_path = out_dir / RESULTS_FILE, out_dir / SAMPLES_FILE
    write_jsonl(samples_path, (sample_row(s) for s in report.samples))
    write_json(results_path, results_dict(report))
    return results_path, samples_path


def results_dict(report: EvalReport) -> dict[str, Any]:
    """The content of results.json."""
    overall = report.group()
    return {
        "method": report.method,
        "headline_variant": HEADLINE,
        "reference_variant": REFERENCE,
        "headline": _headline(overall.method[HEADLINE]),
        "floor_headline": _headline(overall.floor[HEADLINE]) if overall.floor else None,
        "n_sessions": overall.n_sessions,
        "groups": {g.domain: _group_dict(g) for g in report.groups},
        "config": report.config.model_dump(mode="json"),
        "diagnostics": report.diagnostics.model_dump(mode="json"),
        "sources": report.sources,
        "warnings": report.warnings,
        "versions": {
            "bundlekd": __version__,
            "metrics": METRICS_VERSION,
            "python": platform.python_version(),
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def sample_row(sample: SampleRecord) -> dict[str, Any]:
    """One line of samples.jsonl: ids, prediction, ground truth, counts and per-session rates."""
    scores = sample.scores
    rates = {
        f"{name}_{version}": getattr(scores, name)(version)
        for version in VERSIONS
        for name in ("precision", "recall")
    }
    return {
        "domain": sample.domain,
        "session_id": sample.session_id,
        "parsed": sample.parsed,
        "missing": sample.missing,
        "valid_output": scores.valid_output,
        "repeats_dropped": sample.repeats_dropped,
        "unknown_items": list(sample.unknown_items),
        "pred": [b.model_dump(mode="json") for b in sample.pred],
        "gold": [b.model_dump(mode="json") for b in sample.gold],
        "scores": {**asdict(scores), **rates},
        "errors": list(sample.errors),
        "intents": list(sample.intents),
    }


def report_table(report: EvalReport, *, wide: bool = False) -> TableData:
    """Rows: each domain then overall, the method and the pair floor under it.

    The compact form (default) fits 80 columns: the headline metrics, the valid-output rate and
    intent similarity. `wide` adds aicl-2024, exact-match, Jaccard and false-positive columns.
    """
    tau = report.config.jaccard_tau
    specs: list[tuple[str, str, bool]] = [
        ("domain", "domain", False),
        ("method", "method", False),
        ("n", "n", True),
        ("precision", "P", True),
        ("recall", "R", True),
        ("coverage", "Cov", True),
        ("valid", "valid", True),
    ]
    with_intents = any(g.intents is not None for g in report.groups)
    if with_intents:
        specs.append(("intent_cosine", "intent", True))
    if wide:
        if with_intents:
            specs.append(("intent_rouge_l", "int RL", True))
        specs += [
            ("p24", "P '24", True),
            ("r24", "R '24", True),
            ("cov24", "Cov '24", True),
            ("n_aicl", "n aicl", True),
            ("exact_p", "P exact", True),
            ("exact_r", "R exact", True),
            ("jaccard_p", f"P J≥{tau:g}", True),
            ("jaccard_r", f"R J≥{tau:g}", True),
            ("fp", "FP", True),
        ]
    table = TableData(
        title=f"bundle generation: {report.method} (headline: {HEADLINE})",
        columns=columns(*specs),
        caption=_caption(report),
    )
    for group in report.groups:
        rows = [(report.method, group.method, group.intents)]
        if group.floor is not None:
            rows.append((PAIR_FLOOR_METHOD, group.floor, None))
        for i, (label, variants, intents) in enumerate(rows):
            head, ref = variants[HEADLINE], variants[REFERENCE]
            table.add(
                {
                    "domain": group.domain if i == 0 else "",
                    "method": label,
                    "n": group.n_sessions,
                    "precision": head.precision,
                    "recall": head.recall,
                    "coverage": head.coverage,
                    "valid": head.valid_output_rate,
                    "intent_cosine": intents.cosine if intents else None,
                    "intent_rouge_l": intents.rouge_l if intents else None,
                    "p24": ref.precision,
                    "r24": ref.recall,
                    "cov24": ref.coverage,
                    "n_aicl": ref.n_sessions,
                    "exact_p": head.exact_precision,
                    "exact_r": head.exact_recall,
                    "jaccard_p": head.jaccard_precision,
                    "jaccard_r": head.jaccard_recall,
                    "fp": head.fp_rate,
                },
                dim=label == PAIR_FLOOR_METHOD,
                end_section=i == len(rows) - 1,
            )
    return table


def render_table(report: EvalReport, *, wide: bool = False):  # type: ignore[no-untyped-def]
    """`report_table` as a rich Table."""
    return to_rich(report_table(report, wide=wide))


def _caption(report: EvalReport) -> str:
    d = report.diagnostics
    parts = [f"{d.n_matched}/{d.n_predictions} predictions matched"]
    if d.n_missing:
        parts.append(f"{d.n_missing} gold sessions without prediction (count as invalid)")
    if d.n_unknown:
        parts.append(f"{d.n_unknown} predictions for unknown sessions ignored")
    if d.n_duplicates:
        parts.append(f"{d.n_duplicates} repeated predictions (last kept)")
    if d.n_repeated_bundles:
        parts.append(
            f"{d.n_repeated_bundles} repeated bundles in {d.n_sessions_with_repeats} predictions "
            "dropped (strict; aicl scores them as given)"
        )
    if d.n_unknown_item_predictions:
        parts.append(
            f"{d.n_unknown_item_predictions} predictions name items outside their session "
            "(scored invalid)"
        )
    return "; ".join(parts)


def _headline(agg: Aggregate) -> dict[str, float | int]:
    return {
        "precision": agg.precision,
        "recall": agg.recall,
        "coverage": agg.coverage,
        "valid_output_rate": agg.valid_output_rate,
        "n_sessions": agg.n_labelled,
    }


def _group_dict(group: GroupResult) -> dict[str, Any]:
    return {
        "n_sessions": group.n_sessions,
        "method": {k: asdict(v) for k, v in group.method.items()},
        "floor": {k: asdict(v) for k, v in group.floor.items()} if group.floor else None,
        "intents": group.intents.model_dump() if group.intents is not None else None,
    }
