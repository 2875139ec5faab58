"""The grouping tool in-process: per-session latency (p50/p99) and batch throughput, on a real KB.

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/bench_tool.py --kb runs/kb \
        [--source aicl --split test] [--batch-sizes 32,540] [--baseline-src ../main/src]

Loads the KB's grouping tool (read-only, as `generate` does), embeds the sessions' titles once
and serves them from memory (so the numbers are the tool: pair features, scoring, grouping,
naming; not the model or the SQLite embedding cache), warms up, then times
`GroupingTool.propose` on one session at a time (p50/p99/max per session) and on batches
(sessions/s). Every measurement runs in a child process with one thread
(BUNDLEKD_NUM_THREADS/OMP_NUM_THREADS/OPENBLAS_NUM_THREADS=1).
With `--baseline-src` the same measurement also runs with another source tree first on the path
(e.g. main's), in the same run, and the table gives the ratios and whether both trees proposed
exactly the same bundles (a hash of every proposal's positions, intent, alternatives, exemplar
ids and score). The title names the CPU. Quote ratios from one run, not absolute times: the
machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

from source_trees import cpu_label, run_in_tree


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One tree's measurement (runs in a fresh process)."""
    import numpy as np

    from bundlekd.app.components import grouping_tool
    from bundlekd.data.sources import load_sessions
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import Embedder

    sessions = load_sessions(spec["source"], split=spec["split"])
    if spec["limit"]:
        sessions = sessions[: spec["limit"]]
    started = time.perf_counter()
    kb = KnowledgeBase.open(spec["kb"], read_only=True)
    tool = grouping_tool(kb)  # as generate loads it: the embedder behind the embedding cache
    load_s = time.perf_counter() - started
    titles = sorted({" ".join(i.title.split()) for s in sessions for i in s.public().items})
    table = dict(zip(titles, tool.embedder.embed_batch(titles), strict=True))

    class Memo(Embedder):
        """The sessions' title vectors from memory (the tool, not the model, is measured)."""

        name = "memo"

        def __init__(self, inner: Embedder) -> None:
            self.inner = inner
            self.dim = inner.dim

        @property
        def model_id(self) -> str:
            return self.inner.model_id

        def embed_batch(self, texts: Any) -> np.ndarray:
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([table[t] for t in texts]).astype(np.float32)

    tool.embedder = Memo(tool.embedder)
    for session in sessions[:20]:  # warm-up: first-call costs are not billed
        tool.propose([session])
    latencies = []
    proposals = []
    for session in sessions:
        begin = time.perf_counter()
        found = tool.propose([session])[0]
        latencies.append(time.perf_counter() - begin)
        proposals.append(found)
    digest = hashlib.sha256(
        json.dumps(
            [
                [
                    [
                        list(p.positions),
                        p.intent,
                        list(p.alternatives),
                        list(p.exemplar_ids),
                        p.score,
                    ]
                    for p in found
                ]
                for found in proposals
            ]
        ).encode()
    ).hexdigest()[:16]
    batches = {}
    for size in spec["batch_sizes"]:
        begin = time.perf_counter()
        for start in range(0, len(sessions), size):
            tool.propose(sessions[start : start + size])
        batches[str(size)] = len(sessions) / (time.perf_counter() - begin)
    ordered = sorted(latencies)
    return {
        "sessions": len(sessions),
        "load_s": load_s,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max_ms": 1000 * ordered[-1],
        "batch_sessions_per_s": batches,
        "proposals_sha": digest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, help="A KB folder with a grouping tool.")
    parser.add_argument("--source", default="aicl")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0, help="First N sessions only (0: all).")
    parser.add_argument("--batch-sizes", default="32")
    parser.add_argument(
        "--baseline-src", default=None, help="Another tree's src/ to measure first (e.g. main's)."
    )
    parser.add_argument("--save", default=None, help="Also write the rows as JSON here.")
    args = parser.parse_args()
    spec = {
        "kb": args.kb,
        "source": args.source,
        "split": args.split,
        "limit": args.limit,
        "batch_sizes": [int(b) for b in args.batch_sizes.split(",") if b],
    }
    rows: dict[str, dict[str, Any]] = {}
    if args.baseline_src:
        rows["baseline"] = run_in_tree(__file__, spec, args.baseline_src)
    rows["this tree"] = run_in_tree(__file__, spec, None)
    print(f"grouping tool, {args.source}/{args.split}, {cpu_label()}, 1 thread")
    print("(times from one run on a shared machine: quote ratios, not absolute values)")
    header = ["tree", "sessions", "load s", "p50 ms", "p99 ms", "max ms"]
    header += [f"batch {b} sess/s" for b in spec["batch_sizes"]] + ["proposals sha"]
    print(" | ".join(header))
    for name, row in rows.items():
        cells = [name, str(row["sessions"]), f"{row['load_s']:.1f}"]
        cells += [f"{row[k]:.2f}" for k in ("p50_ms", "p99_ms", "max_ms")]
        cells += [f"{v:.0f}" for v in row["batch_sessions_per_s"].values()]
        print(" | ".join([*cells, row["proposals_sha"]]))
    if "baseline" in rows:
        base, mine = rows["baseline"], rows["this tree"]
        ratios = [f"{base[k] / mine[k]:.1f}x faster {k[:-3]}" for k in ("p50_ms", "p99_ms")]
        ratios += [
            f"{mine['batch_sessions_per_s'][b] / base['batch_sessions_per_s'][b]:.1f}x batch {b}"
            for b in base["batch_sessions_per_s"]
        ]
        same = base["proposals_sha"] == mine["proposals_sha"]
        print("ratios (this tree vs baseline): " + ", ".join(ratios))
        print(f"identical proposals: {'yes' if same else 'NO'}")
    if args.save:
        Path(args.save).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
