"""KB vector index backends: build time, single-query latency p50/p99 and recall@5 vs exact.

Vectors: real all-MiniLM-L6-v2 embeddings of ~2,000 generated rule sentences. Larger indexes
(10k, 100k) add copies of those with small Gaussian noise, re-normalised, because embedding
100k real texts on 2 CPU cores takes too long. Queries are real embeddings of 200 held-out
sentences. "Exact" is brute-force numpy (NumpyIndex); FaissIndex (IndexFlatIP) is exact too,
ChromaIndex uses HNSW.

    .venv/bin/python benchmarks/bench_kb_index.py [--sizes 10000,100000] [--backends faiss,chroma]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bundlekd.knowledge_base.index.base import NumpyIndex, VectorIndex
from bundlekd.llm.embeddings import get_embedder

sys.path.insert(0, str(Path(__file__).parent))
from bench_kb_update import rule_sentences  # the sibling benchmark script

console = Console(width=160)


def base_vectors(n_base: int, n_queries: int, cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Real MiniLM vectors of n_base sentences and n_queries held-out ones (cached as .npy)."""
    path = cache_dir / f"bundlekd-bench-minilm-{n_base}-{n_queries}.npy"
    if path.exists():
        both = np.load(path, allow_pickle=False)
    else:
        texts = [text for _, text in rule_sentences(n_base + n_queries, seed=7)]
        start = time.perf_counter()
        both = get_embedder("minilm").embed_batch(texts)
        console.print(f"embedded {len(texts)} sentences in {time.perf_counter() - start:.1f} s")
        np.save(path, both, allow_pickle=False)
    return both[:n_base], both[n_base:]


def synthetic(base: np.ndarray, n: int, sigma: float, seed: int = 0) -> np.ndarray:
    """The base vectors, then noisy re-normalised copies of them up to n rows."""
    rng = np.random.default_rng(seed)
    extra = base[np.arange(len(base), n) % len(base)]
    extra = extra + rng.normal(0.0, sigma, extra.shape).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.vstack([base, extra])[:n].astype(np.float32)


def make_index(backend: str, folder: Path) -> VectorIndex:
    if backend == "numpy":
        return NumpyIndex(folder / "numpy")
    if backend == "faiss":
        from bundlekd.knowledge_base.index.faiss_index import FaissIndex

        return FaissIndex(folder / "faiss")
    from bundlekd.knowledge_base.index.chroma_index import ChromaIndex

    return ChromaIndex(folder / "chroma")


def measure(
    backend: str, vectors: np.ndarray, queries: np.ndarray, truth: list[set[str]], n_base: int
) -> dict:
    ids = [f"item-{j}" for j in range(len(vectors))]
    meta = [{"kind": "rule", "domain": "food"}] * len(ids)
    with tempfile.TemporaryDirectory() as tmp:
        index = make_index(backend, Path(tmp))
        index.reset("all-MiniLM-L6-v2", vectors.shape[1])
        start = time.perf_counter()
        for lo in range(0, len(ids), 5000):
            index.upsert(ids[lo : lo + 5000], vectors[lo : lo + 5000], meta[lo : lo + 5000])
        index.save()
        build_s = time.perf_counter() - start
        index.search(queries[:1], 5)  # warm-up
        latencies, recalls, same_source = [], [], []
        for query, expected in zip(queries, truth, strict=True):
            start = time.perf_counter()
            hits = index.search(query[None, :], 5)[0]
            latencies.append((time.perf_counter() - start) * 1000)
            recalls.append(len({i for i, _ in hits} & expected) / 5)
            # A noisy copy of the same sentence as an exact hit is a semantically right answer.
            sources = {_source(i, n_base) for i in expected}
            same_source.append(sum(_source(i, n_base) in sources for i, _ in hits) / 5)
    return {
        "build s": build_s,
        "p50 ms": float(np.percentile(latencies, 50)),
        "p99 ms": float(np.percentile(latencies, 99)),
        "recall@5": float(np.mean(recalls)),
        "same-source@5": float(np.mean(same_source)),
    }


def _source(item_id: str, n_base: int) -> int:
    """The real sentence an id's vector was made from (copies cycle through the base)."""
    return int(item_id.removeprefix("item-")) % n_base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="numpy,faiss,chroma")
    parser.add_argument("--base", type=int, default=2000, help="Real sentences embedded.")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sigma", type=float, default=0.02, help="Noise per dimension.")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    # One BLAS/OpenMP thread: on a shared 2-core box, multi-threaded single-query search
    # waits for busy cores (~30 ms instead of < 1 ms). 0 = library default.
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads)
        if "faiss" in args.backends:
            import faiss  # bundles its own OpenMP runtime, which threadpoolctl may not see

            faiss.omp_set_num_threads(args.threads)

    base, queries = base_vectors(args.base, args.queries, args.cache_dir)
    table = Table(title="KB index backends: top-5 single-query search")
    columns = ("items", "backend", "build s", "p50 ms", "p99 ms", "recall@5", "same-source@5")
    for column in columns:
        table.add_column(column, justify="right")
    for n in (int(s) for s in args.sizes.split(",")):
        vectors = synthetic(base, n, args.sigma)
        copies = vectors[len(base) :]
        originals = base[np.arange(len(copies)) % len(base)]
        cosine = float(np.mean(np.sum(copies * originals, axis=1))) if len(copies) else 1.0
        exact = NumpyIndex("unused")
        exact.upsert([f"item-{j}" for j in range(n)], vectors)
        truth = [{i for i, _ in row} for row in exact.search(queries, 5)]
        for backend in args.backends.split(","):
            row = measure(backend, vectors, queries, truth, len(base))
            console.print(f"{n} {backend}: {row}", highlight=False)
            table.add_row(f"{n:,}", backend, *(f"{v:.3f}" if "@" in k else f"{v:.2f}"
                                               for k, v in row.items()))  # fmt: skip
        console.print(
            f"{n:,} items = {len(base):,} real MiniLM vectors + {len(copies):,} noisy copies "
            f"(sigma {args.sigma}, mean cosine to their original {cosine:.3f})",
            highlight=False,
        )
    console.print(table)
    console.print(
        f"Vectors: real all-MiniLM-L6-v2 embeddings of {len(base):,} generated rule sentences; "
        "the rest are Gaussian perturbations of them, re-normalised (synthetic but realistic: "
        "embedding 100k real texts on 2 cores takes too long). Queries: real embeddings of "
        f"{len(queries)} held-out sentences. Recall@5 is against brute-force numpy; "
        "same-source@5 counts a hit as right when it is a copy of the same real sentence as an "
        "exact top-5 hit. Latency is "
        "one query per call through the VectorIndex wrapper, "
        f"{args.threads or 'default'} BLAS/OpenMP thread(s)."
    )


if __name__ == "__main__":
    main()
