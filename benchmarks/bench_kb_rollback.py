"""A KB state means one set of predictions: distil, distil more, roll back, predict again.

Issue 16 item 1, measured on the real data (electronic test, tool mode, learned scorer):

1. `distill --kinds exemplar --tool-scorer learned --ratio 0.5` into a new KB; predict test;
2. `distill ... --ratio 1.0` into the same KB; predict test;
3. `kb rollback`; predict test.

The third predictions must equal the first exactly (before the fix, the rollback restored the
knowledge but not the tool: 0.797/0.794 became 0.781/0.765). Prints strict P/R of each state and
how many sessions differ from state 1. Takes several minutes of CPU (run it `nice`).

    BUNDLEKD_DATA_DIR=../shared/data/bundles BUNDLEKD_NUM_THREADS=1 \\
        .venv/bin/python benchmarks/bench_kb_rollback.py [--work DIR] [--domain electronic]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bundlekd.data.sources import load_sessions
from bundlekd.eval.metrics import HEADLINE, aggregate_all, score_session


def cli(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bundlekd", *args], check=True)
    return time.perf_counter() - started


def predictions(path: Path) -> dict[str, list[list[str]]]:
    rows = (json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip())
    return {r["session_id"]: [sorted(b["items"]) for b in r["bundles"]] for r in rows}


def headline(path: Path, domain: str) -> tuple[float, float]:
    found = predictions(path)
    scores = [
        score_session(found.get(s.session_id, []), [b.items for b in s.bundles or ()])
        for s in load_sessions("aicl", domains=[domain], split="test")
    ]
    head = aggregate_all(scores)[HEADLINE]
    return head.precision, head.recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="Folder for the KB and outputs.")
    parser.add_argument("--domain", default="electronic")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-kb-rollback-"))
    kb = work / "kb"
    common = ["--source", "aicl", "--domain", args.domain]
    distill = ["distill", *common, "--kinds", "exemplar", "--tool-scorer", "learned", "--kb"]
    generate = ["generate", *common, "--split", "test", "--mode", "tool", "--kb", str(kb)]
    steps = [
        ("ratio 0.5", [[*distill, str(kb), "--ratio", "0.5"]]),
        ("ratio 1.0", [[*distill, str(kb), "--ratio", "1.0"]]),
        ("rolled back", [["kb", "rollback", str(kb)]]),
    ]
    results = []
    for k, (label, commands) in enumerate(steps, start=1):
        seconds = sum(cli(*command) for command in commands)
        out = work / f"state{k}.jsonl"
        seconds += cli(*generate, "--out", str(out))
        results.append((label, out, seconds))
    first = predictions(results[0][1])
    print(f"{'state':<12} {'P':>6} {'R':>6} {'sessions != state 1':>20} {'seconds':>8}")
    for label, out, seconds in results:
        precision, recall = headline(out, args.domain)
        found = predictions(out)
        changed = sum(found.get(s) != first.get(s) for s in first.keys() | found.keys())
        print(f"{label:<12} {precision:6.3f} {recall:6.3f} {changed:>20} {seconds:8.0f}")
    same = predictions(results[2][1]) == first
    print(f"rolled-back predictions identical to state 1: {same} (work folder {work})")


if __name__ == "__main__":
    main()
