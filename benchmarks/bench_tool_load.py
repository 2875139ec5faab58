"""How long loading a KB's grouping tool takes: cold (a plain embedder) and warm (the cache).

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/bench_tool_load.py --kb runs/kb \
        [--baseline-src ../main/src] [--repeats 5] [--skip-cold]

`KnowledgeBase.grouping_tool` rebuilds the tool from the KB's items: the item memory, and for
the learned scorer one training memory per domain, whose title vectors used to be embedded
again on every load. Measured, each in a child process with one thread:

- warm: `app.components.grouping_tool(kb)`, the embedder behind the SQLite embedding cache
  (what generate and the service load); the median of `--repeats` loads in one process, after
  one untimed load (a process reuses the scorer memories it built for unchanged sessions).
- rebuild: warm, with those built memories dropped before each load: what a live service
  pays to rebuild its tool after a commit that changed every domain.
- cold: `kb.grouping_tool()` with the plain embedder (fine-tuning's agent inputs, the
  docstring's example): one load in a fresh process, model loading included when a title has
  to be embedded.

Each tree runs on the KB as it is and on a copy whose item-memory cache also holds the other
titles of the exemplars' sessions (what a tool fitted by this tree writes; the copy is made
under a temporary folder, the KB itself is only read). The table gives how many titles each
load embedded and the ratios against `--baseline-src`. The title names the CPU. Quote ratios
from one run: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from source_trees import cpu_label, run_in_tree


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in a fresh process: spec["mode"] is warm, rebuild or cold."""
    from bundlekd.app.components import grouping_tool
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import Embedder

    kb = KnowledgeBase.open(spec["kb"], read_only=True)
    counted: list[int] = []

    def counting(inner: Embedder) -> Embedder:
        original = inner.embed_batch

        def embed_batch(texts: Any) -> Any:
            counted.append(len(texts))
            return original(texts)

        inner.embed_batch = embed_batch  # type: ignore[method-assign]
        return inner

    if spec["mode"] == "cold":
        from bundlekd.knowledge_base.grouping.tool_file import load_tool_file
        from bundlekd.llm.embeddings import get_embedder

        embedder = counting(get_embedder(load_tool_file(kb.kb_dir).embedder_id))
        began = time.perf_counter()
        kb.grouping_tool(embedder)
        return {"seconds": time.perf_counter() - began, "embedded": sum(counted)}
    from bundlekd.knowledge_base import kb as kb_module

    grouping_tool(kb)  # untimed: imports, first reads
    times = []
    for _ in range(spec["repeats"]):
        if spec["mode"] == "rebuild":  # every domain changed: no built memory to reuse
            getattr(kb_module, "_MEMORIES", {}).clear()
        began = time.perf_counter()
        tool = grouping_tool(kb)
        times.append(time.perf_counter() - began)
    misses = getattr(tool.embedder, "misses", 0)
    hits = getattr(tool.embedder, "hits", 0)
    return {"seconds": statistics.median(times), "cache_lookups": hits + misses}


def _with_other_titles(kb_dir: str, into: Path) -> str:
    """A copy of the KB whose item-memory cache holds the other titles too (as a fit by this
    tree writes it), made with the embedder behind the embedding cache."""
    from bundlekd.app.components import build_embedder
    from bundlekd.knowledge_base.grouping.memory import memory_sessions
    from bundlekd.knowledge_base.grouping.tool_file import load_tool_file
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.config import EmbedderConfig

    copy = into / "kb"
    shutil.copytree(kb_dir, copy)
    kb = KnowledgeBase.open(copy, read_only=True)
    embedder = build_embedder(EmbedderConfig(name=load_tool_file(copy).embedder_id))
    memory = kb.item_memory(embedder)
    titles = memory.title_embedder()
    for sessions in memory_sessions(kb.store.load().values()).values():
        titles.embed_batch([t for s in sessions for t in s.titles])
    memory.save(copy / "index", embedder.model_id)
    return str(copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, help="A KB folder with a grouping tool.")
    parser.add_argument("--baseline-src", default=None, help="Another tree's src/ (e.g. main's).")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-cold", action="store_true", help="Warm loads only (fast).")
    parser.add_argument("--save", default=None, help="Also write the rows as JSON here.")
    args = parser.parse_args()
    trees = ([("baseline", args.baseline_src)] if args.baseline_src else []) + [("this tree", None)]
    modes = ["warm", "rebuild"] if args.skip_cold else ["warm", "rebuild", "cold"]
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tool-load-") as tmp:
        kbs = {"as is": args.kb, "other titles cached": _with_other_titles(args.kb, Path(tmp))}
        for tree, src in trees:
            for cache, kb_dir in kbs.items():
                for mode in modes:
                    spec = {"kb": kb_dir, "mode": mode, "repeats": args.repeats}
                    rows[f"{tree} | {cache} | {mode}"] = run_in_tree(__file__, spec, src)
    print(f"grouping tool load, {args.kb}, {cpu_label()}, 1 thread")
    print("(times from one run on a shared machine: quote ratios, not absolute values)")
    print("tree | KB cache | load | seconds | titles embedded (cold) / cache lookups (warm)")
    for name, row in rows.items():
        count = row.get("embedded", row.get("cache_lookups"))
        print(f"{name} | {row['seconds']:.3f} | {count}")
    if args.baseline_src:
        for cache in kbs:
            for mode in modes:
                base = rows[f"baseline | {cache} | {mode}"]["seconds"]
                mine = rows[f"this tree | {cache} | {mode}"]["seconds"]
                print(f"ratio, {cache}, {mode}: {base / mine:.1f}x faster")
    if args.save:
        Path(args.save).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
