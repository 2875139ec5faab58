"""What does keeping the clustering bar's strict P/uR cost in whole bundles? Val only.

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/bench_val_guard.py \
        --kb runs/kb [--tolerances 0.05,0.02,0]

Scores the labelled val sessions once with the KB's grouping tool (`GroupingTool.score`, the
learned pair probabilities), then runs the tool's own val search (`choose_settings`: mean val
GJS over the domains, the bar's val strict P/uR as guard rails, less each tolerance) and prints
the chosen setting with its val scores per domain. The bar is the one the KB recorded at fit
time (tool.json `metadata.val_clustering_bar`). No test session is read.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SHOWN = ("gjs", "precision", "recall", "exact_precision", "exact_recall", "pair_f1", "coverage")


def main() -> None:
    from bundlekd.app.components import open_kb
    from bundlekd.app.tool_choice import choose_settings
    from bundlekd.data.sources import load_sessions
    from bundlekd.knowledge_base.config import KBConfig
    from bundlekd.llm.config import EmbedderConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, required=True)
    parser.add_argument("--source", default="aicl")
    parser.add_argument("--tolerances", default="0.05,0.02,0")
    args = parser.parse_args()

    record = json.loads((args.kb / "tool" / "tool.json").read_text(encoding="utf-8"))
    bar = record["metadata"]["val_clustering_bar"]
    tool = open_kb(KBConfig(dir=args.kb), EmbedderConfig()).grouping_tool()
    val = [s for s in load_sessions(args.source, split="val") if s.bundles]
    _, matrices = tool.score(val)
    print("bar (val)", {d: {m: round(v[m], 3) for m in SHOWN if m in v} for d, v in bar.items()})
    for tolerance in (float(t) for t in args.tolerances.split(",")):
        start = time.process_time()
        chosen = choose_settings(val, matrices, bar, tolerance=tolerance)
        s = chosen.settings
        mean = sum(v["gjs"] for v in chosen.scores.values()) / len(chosen.scores)
        print(
            f"tolerance {tolerance}: {s.policy} t={s.threshold} member={s.member_floor} "
            f"bundle={s.bundle_floor}, guard met {chosen.guard_met}, mean val GJS {mean:.3f} "
            f"({chosen.candidates} candidates, {time.process_time() - start:.1f} CPU s)"
        )
        for domain, scores in chosen.scores.items():
            print("   ", domain, " ".join(f"{m} {scores[m]:.3f}" for m in SHOWN))


if __name__ == "__main__":
    main()
