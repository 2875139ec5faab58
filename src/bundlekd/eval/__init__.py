"""bundlekd.eval: score prediction files against gold sessions (AICL-parity metrics).

Example:
    >>> from bundlekd.eval import EvalConfig, evaluate, render_table, write_report
    >>> report = evaluate(predictions, gold_sessions, EvalConfig(jaccard_tau=0.5))  # doctest: +SKIP
    >>> write_report(report, "runs/x.eval")  # doctest: +SKIP
"""

from bundlekd.data.overlap import jaccard
from bundlekd.eval.evaluator import (
    OVERALL,
    EvalConfig,
    EvalReport,
    GroupResult,
    MatchDiagnostics,
    SampleRecord,
    evaluate,
)
from bundlekd.eval.floors import PAIR_FLOOR_METHOD, pair_floor
from bundlekd.eval.metrics import (
    HEADLINE,
    REFERENCE,
    Aggregate,
    SessionScores,
    aggregate,
    aggregate_all,
    false_positive_rate,
    score_session,
)
from bundlekd.eval.report import render_table, results_dict, sample_row, write_report

__all__ = [
    "HEADLINE",
    "OVERALL",
    "PAIR_FLOOR_METHOD",
    "REFERENCE",
    "Aggregate",
    "EvalConfig",
    "EvalReport",
    "GroupResult",
    "MatchDiagnostics",
    "SampleRecord",
    "SessionScores",
    "aggregate",
    "aggregate_all",
    "evaluate",
    "false_positive_rate",
    "jaccard",
    "pair_floor",
    "render_table",
    "results_dict",
    "sample_row",
    "score_session",
    "write_report",
]
