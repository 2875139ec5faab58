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

from rich.table import Table

from bundlekd import __version__
from bundlekd.eval.evaluator import EvalReport, GroupResult, SampleRecord
from bundlekd.eval.floors import PAIR_FLOOR_METHOD
from bundlekd.eval.metrics import HEADLINE, REFERENCE, VERSIONS, Aggregate
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
        "valid": sample.valid,
        "missing": sample.missing,
        "usable": scores.usable,
        "pred": [b.model_dump(mode="json") for b in sample.pred],
        "gold": [b.model_dump(mode="json") for b in sample.gold],
        "scores": {**asdict(scores), **rates},
        "errors": list(sample.errors),
    }


def render_table(report: EvalReport) -> Table:
    """Rows: each domain then overall, the method and the pair floor; headline columns first."""
    tau = report.config.jaccard_tau
    table = Table(
        title=f"bundle generation: {report.method} "
        f"(headline = {HEADLINE}; beside it {REFERENCE}, as published)",
        caption=_caption(report),
    )
    table.add_column("domain")
    table.add_column("method")
    table.add_column("n", justify="right")
    for name in ("P", "R", "Cov", "Valid"):
        table.add_column(name, justify="right", style="bold")
    for name in ("P '24", "R '24", "Cov '24", "n aicl"):
        table.add_column(name, justify="right")
    for name in ("P exact", "R exact", f"P J≥{tau:g}", f"R J≥{tau:g}", "FP"):
        table.add_column(name, justify="right")
    for group in report.groups:
        rows = [(report.method, group.method)]
        if group.floor is not None:
            rows.append((PAIR_FLOOR_METHOD, group.floor))
        for i, (label, variants) in enumerate(rows):
            table.add_row(
                group.domain if i == 0 else "",
                label,
                str(group.n_sessions),
                *_cells(variants[HEADLINE], variants[REFERENCE]),
                end_section=i == len(rows) - 1,
            )
    return table


def _cells(head: Aggregate, ref: Aggregate) -> list[str]:
    fp = "–" if head.fp_rate is None else _f(head.fp_rate)
    return [
        _f(head.precision),
        _f(head.recall),
        _f(head.coverage),
        _f(head.valid_output_rate),
        _f(ref.precision),
        _f(ref.recall),
        _f(ref.coverage),
        str(ref.n_sessions),
        _f(head.exact_precision),
        _f(head.exact_recall),
        _f(head.jaccard_precision),
        _f(head.jaccard_recall),
        fp,
    ]


def _caption(report: EvalReport) -> str:
    d = report.diagnostics
    parts = [f"{d.n_matched}/{d.n_predictions} predictions matched"]
    if d.n_missing:
        parts.append(f"{d.n_missing} gold sessions without prediction (count as invalid)")
    if d.n_unknown:
        parts.append(f"{d.n_unknown} predictions for unknown sessions ignored")
    if d.n_duplicates:
        parts.append(f"{d.n_duplicates} repeated predictions (last kept)")
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
    }


def _f(value: float) -> str:
    return f"{value:.3f}"
