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
METRICS_VERSION = "2"  # 2: whole-bundle metrics (GJS, pair, BCubed)


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

    The compact form (default) fits 80 columns: the headline metrics (strict P, unique R,
    coverage), the valid-output rate, the whole-bundle metrics (exact P/R, GJS, pair F1) and
    intent similarity. `wide` adds aicl-2024, pair P/R, BCubed, Jaccard and false-positive
    columns.
    """
    tau = report.config.jaccard_tau
    specs: list[tuple[str, str, bool]] = [
        ("domain", "domain", False),
        ("method", "method", False),
        ("precision", "P", True),
        ("recall", "R", True),
        ("coverage", "Cov", True),
        ("valid", "valid", True),
        ("exact_precision", "xP", True),
        ("exact_recall", "xR", True),
        ("gjs", "GJS", True),
        ("pair_f1", "pairF1", True),
    ]
    with_intents = any(g.intents is not None for g in report.groups)
    if with_intents:
        specs.append(("intent_cosine", "intent", True))
    if wide:
        if with_intents:
            specs.append(("intent_rouge_l", "int RL", True))
        specs.insert(2, ("n", "n", True))
        specs += [
            ("p24", "P '24", True),
            ("r24", "R '24", True),
            ("cov24", "Cov '24", True),
            ("n_aicl", "n aicl", True),
            ("pair_precision", "pairP", True),
            ("pair_recall", "pairR", True),
            ("bcubed_precision", "B3 P", True),
            ("bcubed_recall", "B3 R", True),
            ("bcubed_f1", "B3 F", True),
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
                    "exact_precision": head.exact_precision,
                    "exact_recall": head.exact_recall,
                    "gjs": head.gjs,
                    "pair_precision": head.pair_precision,
                    "pair_recall": head.pair_recall,
                    "pair_f1": head.pair_f1,
                    "bcubed_precision": head.bcubed_precision,
                    "bcubed_recall": head.bcubed_recall,
                    "bcubed_f1": head.bcubed_f1,
                    "jaccard_p": head.jaccard_precision,
                    "jaccard_r": head.jaccard_recall,
                    "fp": head.fp_rate,
                },
                dim=label == PAIR_FLOOR_METHOD,
                end_section=i == len(rows) - 1,
            )
    return table


SIZE_BINS = (2, 3, 4, 5)  # the last bin holds every larger bundle


def size_histogram_table(report: EvalReport) -> TableData:
    """Share of predicted vs gold bundles by size (2, 3, 4, 5+), per domain and overall.

    Strict view: repeated bundles and 1-item bundles left out, unreadable outputs hold none.
    """
    labels = [f"{b}+" if b == SIZE_BINS[-1] else str(b) for b in SIZE_BINS]
    specs: list[tuple[str, str, bool]] = [
        ("domain", "domain", False),
        ("side", "bundles", False),
        ("n", "n", True),
        *((f"size_{label}", f"size {label}", True) for label in labels),
        ("mean", "mean", True),
    ]
    table = TableData(title="bundle sizes: predicted vs gold", columns=columns(*specs))
    domains = sorted({s.domain for s in report.samples})
    for domain in [*domains, "overall"]:
        chosen = [s for s in report.samples if domain in ("overall", s.domain)]
        predicted = [
            len(set(b.items))
            for s in chosen
            if s.scores.parsed
            for b in {frozenset(b.items): b for b in s.pred}.values()
            if len(set(b.items)) >= 2
        ]
        gold = [len(set(b.items)) for s in chosen for b in s.gold]
        for i, (side, sizes) in enumerate((("predicted", predicted), ("gold", gold))):
            row: dict[str, Any] = {
                "domain": domain if i == 0 else "",
                "side": side,
                "n": len(sizes),
                "mean": sum(sizes) / len(sizes) if sizes else None,
            }
            for size, label in zip(SIZE_BINS, labels, strict=True):
                inside = [x for x in sizes if (x >= size if size == SIZE_BINS[-1] else x == size)]
                row[f"size_{label}"] = len(inside) / len(sizes) if sizes else None
            table.add(row, dim=side == "gold", end_section=i == 1)
    return table


def render_table(report: EvalReport, *, wide: bool = False):  # type: ignore[no-untyped-def]
    """`report_table` as a rich Table."""
    return to_rich(report_table(report, wide=wide))


def _caption(report: EvalReport) -> str:
    d = report.diagnostics
    sessions = ", ".join(f"{g.domain} {g.n_sessions}" for g in report.groups)
    parts = [f"sessions: {sessions}", f"{d.n_matched}/{d.n_predictions} predictions matched"]
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
        "exact_precision": agg.exact_precision,
        "exact_recall": agg.exact_recall,
        "gjs": agg.gjs,
        "pair_f1": agg.pair_f1,
        "bcubed_f1": agg.bcubed_f1,
        "n_sessions": agg.n_labelled,
    }


def _group_dict(group: GroupResult) -> dict[str, Any]:
    return {
        "n_sessions": group.n_sessions,
        "method": {k: asdict(v) for k, v in group.method.items()},
        "floor": {k: asdict(v) for k, v in group.floor.items()} if group.floor else None,
        "intents": group.intents.model_dump() if group.intents is not None else None,
    }
