"""Incremental KB update vs full rebuild: only new ids get embedded (STYLE.md P10).

For each N: grow a KB to N rule sentences, add 1,000 new ones (plus 200 exact duplicates of
existing items), then rebuild the whole index; report texts embedded and time of both.

    .venv/bin/python benchmarks/bench_kb_update.py [--existing 500,2000] [--new 1000]
        [--embedder minilm|hashing] [--index faiss|numpy|chroma]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.embeddings import Embedder, get_embedder

PRODUCTS = {
    "electronic": [
        "phone case", "screen protector", "wireless charger", "USB-C cable", "laptop sleeve",
        "wireless mouse", "mechanical keyboard", "monitor stand", "HDMI adapter", "power bank",
        "bluetooth earbuds", "headphone stand", "memory card", "camera bag", "tripod",
        "smart watch band", "game controller", "charging dock", "ink cartridge", "printer paper",
        "webcam", "ring light", "external SSD", "surge protector", "router", "ethernet cable",
    ],
    "clothing": [
        "running shoes", "athletic socks", "winter coat", "knitted scarf", "leather gloves",
        "wedding dress", "bridal veil", "dress shirt", "silk tie", "swimsuit", "beach towel",
        "sunglasses", "yoga pants", "sports bra", "rain jacket", "hiking boots", "wool beanie",
        "denim jacket", "leather belt", "ankle boots", "pajama set", "bathrobe", "baby onesie",
        "bib set", "cargo shorts", "baseball cap",
    ],
    "food": [
        "pasta", "tomato sauce", "parmesan cheese", "coffee beans", "paper filters", "green tea",
        "honey", "protein powder", "shaker bottle", "baking flour", "dry yeast", "tortilla chips",
        "salsa", "guacamole", "breakfast cereal", "oat milk", "olive oil", "balsamic vinegar",
        "sea salt", "dark chocolate", "almonds", "granola bars", "peanut butter", "strawberry jam",
        "rice noodles", "soy sauce",
    ],
}  # fmt: skip
TEMPLATES = [
    "Customers who buy {a} usually add {b} to the same order.",
    "A {a} is often bundled with a matching {b}.",
    "Group {a} with {b}: they serve the same need.",
    "{a} and {b} are complementary and belong in one bundle.",
    "When a session has {a}, look for {b} to complete the bundle.",
    "Do not bundle {a} with {b} unless both share one use.",
    "{a} plus {b} form a typical starter kit.",
    "Shoppers pair {a} with {b} when preparing for a trip.",
    "Bundle {a} and {b} when the titles mention the same brand.",
    "{a} goes with {b} as a gift set.",
    "If {a} appears, {b} is a likely add-on purchase.",
    "Keep {a} and {b} together; splitting them loses the intent.",
]


def rule_sentences(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n distinct (domain, rule sentence) pairs from the templates above."""
    capacity = sum(len(p) * (len(p) - 1) for p in PRODUCTS.values()) * len(TEMPLATES)
    if n > capacity:
        raise ValueError(f"only {capacity} distinct sentences can be generated, asked for {n}")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    domains = sorted(PRODUCTS)
    while len(out) < n:
        domain = rng.choice(domains)
        a, b = rng.sample(PRODUCTS[domain], 2)
        text = rng.choice(TEMPLATES).format(a=a, b=b)
        text = text[0].upper() + text[1:]
        if text not in seen:
            seen.add(text)
            out.append((domain, text))
    return out


class CountingEmbedder(Embedder):
    """Delegates to a real embedder and counts the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.count = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.count += len(texts)
        return self.inner.embed_batch(texts)


def run(sizes: list[int], new: int, embedder: CountingEmbedder, index: str) -> list[dict]:
    """One KB grown to each size in turn; at each: a timed update, then a timed full rebuild."""
    needed = int(max(sizes) * 1.5) + new * len(sizes)  # slack: near-duplicates get merged
    pool = [
        KnowledgeItem.new("rule", text, domain, source_splits=["train"])
        for domain, text in rule_sentences(needed)
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase.create(tmp, embedder=embedder, index=index)
        used = 0
        for size in sorted(sizes):
            # Top the KB up to `size` active items (untimed; merges may need a few extra).
            while len(kb.items()) < size:
                need = size - len(kb.items())
                kb.add(pool[used : used + need])
                used += need
            existing = len(kb.items())
            fresh, duplicates = pool[used : used + new], kb.items()[:200]
            used += new
            embedder.count = 0
            start = time.perf_counter()
            result = kb.add(fresh + duplicates)
            update_s = time.perf_counter() - start
            update_embedded = embedder.count
            embedder.count = 0
            start = time.perf_counter()
            kb.rebuild_index()
            rebuild_s = time.perf_counter() - start
            rows.append(
                {
                    "existing": existing,
                    "candidates": len(fresh) + len(duplicates),
                    "added": result.added,
                    "merged": result.merged,
                    "unchanged": result.unchanged,
                    "embedded (update)": update_embedded,
                    "update s": update_s,
                    "active after": len(kb.items()),
                    "embedded (rebuild)": embedder.count,
                    "rebuild s": rebuild_s,
                    "embedded ratio": update_embedded / embedder.count,
                    "time ratio": update_s / rebuild_s,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Sizes are small because the rebuild re-embeds everything with the real model on 2 cores.
    parser.add_argument("--existing", default="500,2000", help="Comma-separated KB sizes.")
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--index", default="faiss")
    args = parser.parse_args()
    embedder = CountingEmbedder(get_embedder(args.embedder))
    embedder.embed_batch(["warm up the model"])  # load time is not update time
    sample = [text for _, text in rule_sentences(200, seed=1)]
    start = time.perf_counter()
    embedder.embed_batch(sample)
    rate = len(sample) / (time.perf_counter() - start)
    rows = run([int(n) for n in args.existing.split(",")], args.new, embedder, args.index)
    table = Table(
        title=f"KB update: add {args.new} new + 200 duplicate items "
        f"({embedder.model_id}, {args.index} index, merge threshold 0.92)"
    )
    for column in rows[0]:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()))
    console = Console(width=200)
    console.print(table)
    console.print(
        f"embedder throughput on this machine: {rate:.0f} sentences/s; the update embeds only "
        "new ids (exact duplicates and earlier merges are skipped); the rebuild embeds every "
        "active item. The update time also includes near-duplicate search and the atomic "
        "rewrite of knowledge.jsonl + snapshot + manifest."
    )


if __name__ == "__main__":
    main()
