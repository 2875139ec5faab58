"""Intent quality: how close a hit bundle's predicted intent is to its ground-truth intent.

Only hits are scored (a bundle p with p ⊆ g for some GT bundle g): the intent of a wrong bundle
has nothing to be compared with. When p sits in several GT bundles, the closest one counts.
Two similarities, both in [0, 1]: the cosine of sentence embeddings (MiniLM by default, clipped
at 0) and ROUGE-L F1 (the `rouge-score` library, stemmed). An optional LLM judge adds the share
of hits whose intents it calls the same purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from bundlekd.data.schema import Bundle
from bundlekd.llm.embeddings import Embedder

#: judge(pairs of (predicted, gold) intents) -> 1.0 (same purpose) / 0.0 per pair.
Judge = Callable[[Sequence[tuple[str, str]]], list[float]]


class IntentSummary(BaseModel):
    """Mean intent similarity over the hit bundles of a group of sessions."""

    model_config = ConfigDict(frozen=True)

    n_hits: int
    cosine: float | None = None
    rouge_l: float | None = None
    judge: float | None = None


@dataclass(frozen=True, slots=True)
class HitIntents:
    """One hit bundle's intent and the intents of the GT bundles containing it."""

    predicted: str
    gold: tuple[str, ...]


def hit_intents(pred: Sequence[Bundle], gold: Sequence[Bundle]) -> list[HitIntents]:
    """The hits of one session (bundles of >= 2 items contained in a GT bundle)."""
    hits = []
    for p in pred:
        if len(p.items) < 2:
            continue
        containing = tuple(g.intent for g in gold if set(p.items) <= set(g.items))
        if containing:
            hits.append(HitIntents(p.intent, containing))
    return hits


class IntentScorer:
    """Scores hit intents with an embedder, ROUGE-L and optionally an LLM judge."""

    def __init__(self, embedder: Embedder | None = None, judge: Judge | None = None) -> None:
        self.embedder = embedder
        self.judge = judge
        self._rouge: Any = None

    def _rouge_l(self, a: str, b: str) -> float:
        if self._rouge is None:
            from rouge_score.rouge_scorer import RougeScorer

            self._rouge = RougeScorer(["rougeL"], use_stemmer=True)
        return float(self._rouge.score(b, a)["rougeL"].fmeasure)

    def score(self, hits: Sequence[HitIntents]) -> list[dict[str, float]]:
        """Per hit: the best cosine, ROUGE-L and judge verdict over its GT bundles."""
        if not hits:
            return []
        cosines: dict[tuple[str, str], float] = {}
        if self.embedder is not None:
            texts = sorted({t for h in hits for t in (h.predicted, *h.gold)})
            vectors = self.embedder.embed_batch(texts)
            index = {t: i for i, t in enumerate(texts)}
            for h in hits:
                for g in h.gold:
                    value = float(vectors[index[h.predicted]] @ vectors[index[g]])
                    cosines[(h.predicted, g)] = max(0.0, value)
        verdicts: dict[tuple[str, str], float] = {}
        if self.judge is not None:
            pairs = sorted({(h.predicted, g) for h in hits for g in h.gold})
            verdicts = dict(zip(pairs, self.judge(pairs), strict=True))
        rows = []
        for h in hits:
            if not h.predicted.strip():  # an unnamed bundle names nothing
                rows.append({"rouge_l": 0.0, "cosine": 0.0} if cosines else {"rouge_l": 0.0})
                continue
            row = {"rouge_l": max(self._rouge_l(h.predicted, g) for g in h.gold)}
            if cosines:
                row["cosine"] = max(cosines[(h.predicted, g)] for g in h.gold)
            if verdicts:
                row["judge"] = max(verdicts[(h.predicted, g)] for g in h.gold)
            rows.append(row)
        return rows


def summarize(rows: Sequence[dict[str, float]]) -> IntentSummary:
    """Mean of each similarity over hit bundles (micro average)."""

    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if key in r]
        return float(np.mean(values)) if values else None

    return IntentSummary(
        n_hits=len(rows), cosine=mean("cosine"), rouge_l=mean("rouge_l"), judge=mean("judge")
    )
