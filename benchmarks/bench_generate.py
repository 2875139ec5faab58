"""Generation speed per mode and setting, on the same sessions, against the machine's limits.

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/bench_generate.py \
        --kb runs/kb-aicl --sessions 16 --modes zero_shot,few_shot,icl,agent \
        --batch-sizes 8 --threads 1,2 --dtypes auto,bfloat16,float32 [--emulate-avx2]

Each (mode, batch size, threads, dtype) runs in a fresh child process (torch threads and peak
RSS are per process), loads the default model, warms up on one session (grammar compile and
first-call costs are not billed), then generates the sessions twice: once with a 1-token limit
(≈ prefill) and once normally. It reports prompt and generated tokens, prefill seconds, decode
tokens/s (generated tokens over the time after prefill), sessions/min and peak RSS. The parent
prints the memory bandwidth it measures and the decode limit that implies for the model: every
decode step reads all weights once, so tokens/s <= batch × bandwidth / weight bytes.
The title names the CPU, torch's kernel level and whether bf16 is native; dtype "auto" shows
what it resolved to (fp32*). `--emulate-avx2` runs the children with torch and oneDNN limited
to AVX2 kernels (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2): on a CPU with native bf16 it
shows what an AVX2-only CPU would do (bf16 emulated), and "auto" sees the limit too. A dtype
with a star is the one "auto" chose.
Quote ratios from one run, not absolute times: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from itertools import product
from pathlib import Path
from typing import Any

N_PARAMS = 134_515_008  # SmolLM2-135M (tied embeddings)


def memory_bandwidth_gbs(megabytes: int = 512, repeats: int = 3) -> float:
    """Read+write bandwidth of a large numpy copy, best of `repeats` (GB/s)."""
    import numpy as np

    source = np.ones(megabytes * 2**20 // 8, dtype=np.float64)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return 2 * source.nbytes / best / 1e9


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement (runs in its own process)."""
    os.environ["BUNDLEKD_NUM_THREADS"] = str(spec["threads"])
    from bundlekd.app.components import build_agent, load_targets
    from bundlekd.config import load_config
    from bundlekd.llm.base import LLM, ChatRequest, Completion
    from bundlekd.llm.registry import get_llm

    class Recorder(LLM):
        name = "recorder"

        def __init__(self, inner: LLM) -> None:
            self.inner = inner
            self.supports_json_schema = inner.supports_json_schema
            self.completions: list[Completion] = []
            self.max_new_tokens: int | None = None

        @property
        def model_id(self) -> str:
            return self.inner.model_id

        def generate(self, requests: list[ChatRequest]) -> list[Completion]:
            if self.max_new_tokens is not None:
                from dataclasses import replace

                requests = [
                    replace(r, sampling=replace(r.sampling, max_new_tokens=self.max_new_tokens))
                    for r in requests
                ]
            out = self.inner.generate(requests)
            self.completions += out
            return out

    overrides = {
        "data.source": spec["source"],
        "data.domains": [spec["domain"]],
        "data.split": spec["split"],
        "data.limit": spec["sessions"] + 1,
        "generation.mode": spec["mode"],
        "generation.batch_size": spec["batch_size"],
        "kb.dir": spec.get("kb"),
    }
    config = load_config(None, overrides).config
    targets, train = load_targets(config.data)
    inner = get_llm("smollm2", batch_size=spec["batch_size"], dtype=spec["dtype"])
    resolved = inner.runtime().get("dtype", spec["dtype"])
    llm = Recorder(inner)
    started = time.perf_counter()
    agent = build_agent(config, llm, train_sessions=train)
    setup_s = time.perf_counter() - started
    agent.generate(targets[:1])  # warm-up: model load, grammar compile
    sessions = targets[1:]
    llm.completions.clear()
    llm.max_new_tokens = 1
    started = time.perf_counter()
    agent.generate(sessions)
    prefill_s = time.perf_counter() - started
    prompt_tokens = sum(c.prompt_tokens for c in llm.completions)
    llm.completions.clear()
    llm.max_new_tokens = None
    started = time.perf_counter()
    agent.generate(sessions)
    total_s = time.perf_counter() - started
    generated = sum(c.completion_tokens for c in llm.completions)
    return {
        **spec,
        "resolved_dtype": resolved,
        "setup_s": round(setup_s, 2),
        "prompt_tokens": prompt_tokens,
        "generated_tokens": generated,
        "prefill_s": round(prefill_s, 2),
        # On a noisy box the 1-token pass can take as long as the whole run: no decode rate then.
        "decode_tok_s": round(generated / (total_s - prefill_s), 1)
        if generated and total_s - prefill_s > 0.05 * total_s
        else None,
        "total_s": round(total_s, 2),
        "sessions_per_min": round(60 * len(sessions) / total_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def speed_table(
    rows: list[dict[str, Any]], bandwidth: float, title: str, cpu: str | None = None
) -> Any:
    """The rows as an 80-column TableData, with each decode rate against its ceiling."""
    from bundlekd.eval.tables import TableData, columns

    weight_bytes = {"bfloat16": 2, "float16": 2, "float32": 4}
    short_dtype = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
    for row in rows:
        resolved = row.get("resolved_dtype", row["dtype"])
        limit = row["batch_size"] * bandwidth * 1e9 / (N_PARAMS * weight_bytes[resolved])
        row["decode_limit"] = round(limit, 1)
        decode = row["decode_tok_s"]
        # Pre-formatted cells: one decimal is all these noisy numbers carry, and it keeps
        # the table inside 80 columns.
        row["dtype_short"] = short_dtype.get(resolved, resolved)
        if row["dtype"] == "auto":
            row["dtype_short"] += "*"
        row["of_limit"] = f"{100 * decode / limit:.0f}%" if decode else "–"
        for key in ("prefill_s", "decode_tok_s", "sessions_per_min"):
            row[f"{key}_text"] = f"{row[key]:.1f}" if row[key] is not None else "–"
    table = TableData(
        title=title,
        columns=columns(
            ("mode", "mode", False),
            ("batch_size", "bat"),
            ("threads", "thr"),
            ("dtype_short", "dtype", False),
            ("prompt_tokens", "prompt"),
            ("generated_tokens", "gen"),
            ("prefill_s_text", "prefill"),
            ("decode_tok_s_text", "tok/s"),
            ("of_limit", "%max"),
            ("sessions_per_min_text", "sess/min"),
            ("peak_rss_mb", "RSS"),
        ),
        caption="dtype*: what auto chose; "
        f"prompt/gen: tokens; prefill: seconds; tok/s: decode = generated / (total - "
        f"prefill); %max: of its ceiling batch × bandwidth / weight bytes (memory bandwidth "
        f"{bandwidth:.1f} GB/s, {N_PARAMS / 1e6:.1f}M params); RSS: peak MB"
        + (f"; CPU: {cpu}" if cpu else ""),
    )
    for row in rows:
        table.add(row)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--modes", default="zero_shot,few_shot,icl,agent")
    parser.add_argument("--batch-sizes", default="8")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--dtypes", default="auto", help="auto, bfloat16, float32 (comma list).")
    parser.add_argument(
        "--emulate-avx2", action="store_true", help="Limit torch/oneDNN to AVX2 kernels."
    )
    parser.add_argument("--kb", default=None, help="KB with a grouping tool (icl, agent).")
    parser.add_argument("--domain", default="electronic")
    parser.add_argument("--split", default="val")
    parser.add_argument("--format", default="table", help="table, markdown, csv or json.")
    parser.add_argument("--save", default=None, help="Also write the rows as JSON here.")
    parser.add_argument("--rows", default=None, help="Print a --save file; measure nothing.")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.rows:
        saved = json.loads(Path(args.rows).read_text())
        table = speed_table(saved["rows"], saved["bandwidth_gbs"], saved["title"], saved.get("cpu"))
        _print(table, args.format)
        return

    source = "aicl" if os.environ.get("BUNDLEKD_DATA_DIR") else "sample"
    child_env = dict(os.environ)
    if args.emulate_avx2:
        child_env.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2")
    cpu = subprocess.run(
        [sys.executable, "-c", "from bundlekd.llm.precision import cpu_summary as s; print(s())"],
        capture_output=True, text=True, check=False, env=child_env,
    ).stdout.strip()  # fmt: skip
    print(f"CPU: {cpu}", file=sys.stderr)
    bandwidth = memory_bandwidth_gbs()
    rows = []
    modes = [m for m in args.modes.split(",") if m]
    if args.kb is None:
        modes = [m for m in modes if m not in ("icl", "agent", "tool")]
    for mode, batch, threads, dtype in product(
        modes,
        [int(b) for b in args.batch_sizes.split(",")],
        [int(t) for t in args.threads.split(",")],
        args.dtypes.split(","),
    ):
        spec = {
            "mode": mode,
            "batch_size": batch,
            "threads": threads,
            "dtype": dtype,
            "sessions": args.sessions,
            "source": source,
            "domain": args.domain,
            "split": args.split,
            "kb": args.kb,
        }
        done = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            capture_output=True,
            text=True,
            check=False,
            env=child_env,
        )
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"done {mode} batch {batch} threads {threads} {dtype}", file=sys.stderr)
    title = f"generation speed: {args.sessions} {source}/{args.domain}/{args.split} sessions"
    if args.save:
        saved = {"title": title, "bandwidth_gbs": bandwidth, "rows": rows, "cpu": cpu}
        Path(args.save).write_text(json.dumps(saved, indent=1))
    _print(speed_table(rows, bandwidth, title, cpu), args.format)


def _print(table: Any, output_format: str) -> None:
    from rich.console import Console

    from bundlekd.eval.tables import render_text, to_rich

    if output_format == "table":
        Console().print(to_rich(table))
    else:
        print(render_text(table, output_format), end="")


if __name__ == "__main__":
    main()
