"""Is the grouping tool robust to item order? Shuffle every session's items and score again.

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/bench_item_order.py \
        --kb runs/kb [--split test] [--seeds 0,1,2]

The item order is part of the input (products 1…N, the position features), but a bundle is a
set: a shop that lists the same basket in another order should get the same bundles. For each
seed, every session's items are shuffled (seeded), the KB's tool proposes bundles for the
original and the shuffled sessions, and both are scored (strict-2025 and the whole-bundle
metrics, per domain). It prints the metrics of the original order, the largest move over the
seeds per metric, and the share of sessions whose bundles changed as sets.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

METRICS = ("precision", "recall", "coverage", "exact_precision", "exact_recall", "gjs", "pair_f1")


def shuffled(sessions, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    out = []
    for session in sessions:
        items = list(session.items)
        rng.shuffle(items)
        out.append(session.model_copy(update={"items": tuple(items)}))
    return out


def predict(tool, sessions):  # type: ignore[no-untyped-def]
    from bundlekd.data.schema import Bundle, Prediction

    predictions = []
    for session, proposals in zip(sessions, tool.propose(sessions), strict=True):
        bundles = tuple(Bundle(items=p.item_ids(session), intent=p.intent) for p in proposals)
        predictions.append(
            Prediction(session_id=session.session_id, domain=session.domain, bundles=bundles)
        )
    return predictions


def main() -> None:
    from rich.console import Console

    from bundlekd.app.components import open_kb
    from bundlekd.data.sources import load_sessions
    from bundlekd.eval import evaluate
    from bundlekd.eval.tables import TableData, columns, to_rich
    from bundlekd.knowledge_base.config import KBConfig
    from bundlekd.llm.config import EmbedderConfig
    from bundlekd.llm.precision import cpu_summary

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, type=Path)
    parser.add_argument("--source", default="aicl")
    parser.add_argument("--split", default="test")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()

    kb = open_kb(KBConfig(dir=args.kb), EmbedderConfig())
    tool = kb.grouping_tool()
    sessions = [s for s in load_sessions(args.source, split=args.split) if s.bundles]
    base = predict(tool, sessions)
    report = evaluate(base, sessions)
    domains = sorted({s.domain for s in sessions})
    moves = {d: dict.fromkeys(METRICS, 0.0) for d in domains}
    changed = {d: 0 for d in domains}
    for seed in (int(x) for x in args.seeds.split(",")):
        order = shuffled(sessions, seed)
        again = predict(tool, order)
        other = evaluate(again, order)
        for domain in domains:
            a, b = report.group(domain).headline, other.group(domain).headline
            for metric in METRICS:
                moves[domain][metric] = max(
                    moves[domain][metric], abs(getattr(a, metric) - getattr(b, metric))
                )
        for before, after, session in zip(base, again, sessions, strict=True):
            if {frozenset(x.items) for x in before.bundles} != {
                frozenset(x.items) for x in after.bundles
            }:
                changed[session.domain] += 1
    n_seeds = len(args.seeds.split(","))
    table = TableData(
        title=f"item order: {args.split}, {n_seeds} shuffles ({cpu_summary()})",
        columns=columns(
            ("domain", "domain", False),
            ("row", "", False),
            *(
                (m, m.replace("exact_", "x").replace("precision", "P").replace("recall", "R"))
                for m in METRICS
            ),
            ("changed", "chg", True),
        ),
    )
    for domain in domains:
        head = report.group(domain).headline
        table.add({"domain": domain, "row": "orig", **{m: getattr(head, m) for m in METRICS}})
        count = sum(s.domain == domain for s in sessions) * n_seeds
        table.add(
            {"domain": "", "row": "max Δ", **moves[domain], "changed": changed[domain] / count},
            dim=True,
            end_section=True,
        )
    Console().print(to_rich(table))


if __name__ == "__main__":
    main()
