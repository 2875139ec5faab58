"""Batched vs one-at-a-time student generation on the same sessions, in one process.

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/bench_batching.py \
        --sessions 16 --batch-size 8 --threads 1

Loads the default model once, warms it up (one short generation per distinct answer schema, so
xgrammar's per-schema compile is not billed to either side), then times `StudentAgent.generate`
with the agent sending `--batch-size` sessions per backend call and with it sending one. By
default sessions are ordered by item count first, as `run_batch` does, so each batch shares one
JSON schema; `--no-group` keeps the file order to show what mixed batches cost. Falls back to
the shipped sample when BUNDLEKD_DATA_DIR is unset. Greedy decoding, so both sides must produce
the same answers; the script reports how many differ (batch padding can flip a near tie).
"""

from __future__ import annotations

import argparse
import os
import time

from bundlekd.agent import AgentConfig, ExampleIndex, StudentAgent
from bundlekd.data.sources import load_sessions
from bundlekd.llm.embeddings import get_embedder
from bundlekd.llm.registry import get_llm


def _sessions(domain: str, n: int):  # type: ignore[no-untyped-def]
    source = "aicl" if os.environ.get("BUNDLEKD_DATA_DIR") else "sample"
    every = load_sessions(source, domains=[domain], split="all")
    return (
        source,
        [s for s in every if s.split == "test"][:n],
        [s for s in every if s.split == "train"],
    )


def _timed(agent: StudentAgent, sessions):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    predictions = agent.generate(sessions)
    return time.perf_counter() - started, predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--domain", default="electronic")
    parser.add_argument("--mode", default="few_shot", choices=["zero_shot", "few_shot"])
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--no-group", action="store_true", help="keep file order (mixed sizes)")
    args = parser.parse_args()

    source, sessions, train = _sessions(args.domain, args.sessions)
    if not args.no_group:
        sessions = sorted(sessions, key=lambda s: len(s.items))
    llm = get_llm("smollm2", num_threads=args.threads, batch_size=args.batch_size)
    started = time.perf_counter()
    llm.load()
    load_s = time.perf_counter() - started
    k = 1 if args.mode == "few_shot" else 0
    index = ExampleIndex(train, get_embedder(args.embedder)) if k else None

    def agent(batch: int, **overrides: int) -> StudentAgent:
        config = AgentConfig(mode=args.mode, n_examples=k, batch_size=batch, **overrides)
        return StudentAgent(llm, config, example_index=index)

    by_size = {len(s.items): s for s in sessions}
    warm_s, _ = _timed(agent(len(by_size), max_new_tokens=16), list(by_size.values()))

    batched_s, batched = _timed(agent(args.batch_size), sessions)
    single_s, single = _timed(agent(1), sessions)

    n = len(sessions)
    differ = sum(a.raw != b.raw for a, b in zip(batched, single, strict=True))
    tokens_b = sum(p.tokens for p in batched)
    tokens_s = sum(p.tokens for p in single)
    print(
        f"source={source} domain={args.domain} sessions={n} mode={args.mode} "
        f"threads={args.threads} grouped={not args.no_group} "
        f"sizes={sorted(len(s.items) for s in sessions)}"
    )
    print(f"model load {load_s:.1f} s, warm-up ({len(by_size)} schemas) {warm_s:.1f} s")
    for label, seconds, preds, tokens in (
        (f"batch {args.batch_size}", batched_s, batched, tokens_b),
        ("batch 1", single_s, single, tokens_s),
    ):
        parsed = sum(p.parsed for p in preds)
        print(
            f"{label:>9}: {seconds:7.1f} s  {60 * n / seconds:6.2f} sessions/min  "
            f"{tokens / seconds:6.1f} gen tok/s  parsed {parsed}/{n}"
        )
    print(
        f"speed-up batched/one-at-a-time: {single_s / batched_s:.2f}x "
        f"(outputs differing: {differ}/{n})"
    )


if __name__ == "__main__":
    main()
