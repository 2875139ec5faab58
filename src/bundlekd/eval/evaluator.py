"""Score a predictions file against gold sessions: match, score every session, aggregate.

`evaluate` keeps one `SampleRecord` per gold session (what was predicted, the GT, the scores),
aggregates per domain and overall (pooled over sessions, not a mean of domain means), and scores
the pair floor on the same sessions so every table carries it.

Two rules keep a prediction from scoring more than it shows:
- strict scoring drops repeated bundles of one prediction first (repeating a correct bundle 20
  times must not raise precision); the `aicl` variants score the bundles as given, like the
  reference code, and the number dropped is reported;
- a prediction that names an item outside its gold session is an error: it is reported, and
  scored as no valid output (in every variant).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from bundlekd.data.schema import Bundle, Prediction, Session
from bundlekd.errors import DataError
from bundlekd.eval.floors import PAIR_FLOOR_METHOD, pair_floor
from bundlekd.eval.intents import IntentScorer, IntentSummary, hit_intents, summarize
from bundlekd.eval.metrics import (
    DEFAULT_JACCARD_TAU,
    HEADLINE,
    REFERENCE,
    Aggregate,
    SessionScores,
    aggregate_all,
    score_session,
    unique_bundles,
)

logger = logging.getLogger(__name__)

OVERALL = "overall"
Key = tuple[str, str]


class EvalConfig(BaseModel):
    """How predictions are scored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jaccard_tau: float = Field(
        default=DEFAULT_JACCARD_TAU,
        gt=0.0,
        le=1.0,
        description="p matches g in the Jaccard variant when J(p, g) >= tau.",
    )
    with_floor: bool = Field(default=True, description="Also score the pair floor.")
    only_predicted: bool = Field(
        default=False,
        description="Score only gold sessions that have a prediction (for partial runs); by "
        "default a missing session counts as invalid output.",
    )
    method_name: str = Field(
        default="", description="Row label; default: the predictions' `method` field."
    )
    max_listed_ids: int = Field(default=10, ge=0, description="Ids listed in diagnostics.")


class SampleRecord(BaseModel):
    """One gold session as scored: one line of samples.jsonl."""

    domain: str
    session_id: str
    parsed: bool = Field(description="The prediction exists and its output was read.")
    missing: bool
    pred: tuple[Bundle, ...]
    gold: tuple[Bundle, ...]
    scores: SessionScores = Field(description="Strict scores (repeated bundles dropped).")
    reference_scores: SessionScores | None = Field(
        default=None,
        description="aicl scores of the bundles as given; None when no bundle repeats (= scores).",
    )
    repeats_dropped: int = Field(default=0, description="Repeated bundles dropped (strict).")
    unknown_items: tuple[str, ...] = Field(
        default=(), description="Predicted item ids not in the gold session (an error)."
    )
    errors: tuple[str, ...] = ()
    intents: tuple[dict[str, float], ...] = Field(
        default=(), description="Per hit bundle: similarity of its intent to the GT intent."
    )


class GroupResult(BaseModel):
    """Metrics of one domain (or ``overall``): every variant, for the method and the floor."""

    domain: str
    n_sessions: int
    method: dict[str, Aggregate]
    floor: dict[str, Aggregate] | None = None
    intents: IntentSummary | None = None

    @property
    def headline(self) -> Aggregate:
        return self.method[HEADLINE]

    @property
    def reference(self) -> Aggregate:
        return self.method[REFERENCE]


class MatchDiagnostics(BaseModel):
    """How the predictions lined up with the gold sessions."""

    n_predictions: int
    n_matched: int
    n_unknown: int = Field(description="Predictions for sessions not in the gold; ignored.")
    unknown_ids: list[str]
    n_missing: int = Field(description="Gold sessions without a prediction.")
    missing_ids: list[str]
    n_duplicates: int = Field(description="Repeated predictions; the last one was kept.")
    n_unlabelled_gold: int = Field(description="Gold sessions without ground truth; skipped.")
    n_repeated_bundles: int = Field(
        default=0,
        description="Bundles repeated within a prediction; dropped before strict scoring.",
    )
    n_sessions_with_repeats: int = Field(default=0, description="Predictions with such repeats.")
    n_unknown_item_predictions: int = Field(
        default=0, description="Predictions naming items outside their session; scored invalid."
    )
    unknown_item_ids: list[str] = Field(
        default_factory=list, description="Sessions of those predictions (first few)."
    )


class EvalReport(BaseModel):
    """Everything `evaluate` found; `report.write_report` serializes it."""

    method: str
    config: EvalConfig
    groups: list[GroupResult] = Field(description="Domains in name order, then overall.")
    samples: list[SampleRecord]
    diagnostics: MatchDiagnostics
    sources: dict[str, str] = Field(default_factory=dict, description="Input files, hashes.")
    warnings: list[str] = Field(
        default_factory=list,
        description="What a reader must know about the predictions (e.g. test-split knowledge).",
    )

    def group(self, domain: str = OVERALL) -> GroupResult:
        for group in self.groups:
            if group.domain == domain:
                return group
        raise KeyError(domain)


def evaluate(
    predictions: Sequence[Prediction],
    gold: Sequence[Session],
    cfg: EvalConfig | None = None,
    *,
    intent_scorer: IntentScorer | None = None,
) -> EvalReport:
    """Score predictions against gold sessions, per domain and overall.

    Predictions match gold sessions by (domain, session_id). A prediction without a domain
    matches by session id when that id is unique in the gold.

    Args:
        predictions: one per session (a repeated session keeps its last prediction).
        gold: the labelled sessions to score (``bundles`` set; ``()`` means "no bundle").
        cfg: scoring options.
        intent_scorer: also score the intents of hit bundles against the GT intents.

    Returns:
        The report: groups of aggregates, one sample per gold session, match diagnostics.

    Raises:
        DataError: no predictions, no labelled gold, duplicate gold sessions, an ambiguous
            domain-less prediction, or no prediction matching any gold session.
    """
    cfg = cfg or EvalConfig()
    if not predictions:
        raise DataError("no predictions to evaluate")
    labelled = [s for s in gold if s.bundles is not None]
    if not labelled:
        raise DataError(
            f"none of the {len(gold)} gold sessions has ground-truth bundles "
            "(inference-only sessions cannot be scored)"
        )
    gold_by_key = _index_gold(labelled)
    matched, unknown, n_duplicates = _match(predictions, gold_by_key)
    if not matched:
        raise DataError(
            f"none of the {len(predictions)} predictions matches a gold session "
            f"(prediction ids e.g. {_show(unknown, 5)}; gold ids e.g. "
            f"{_show([_label(k) for k in gold_by_key], 5)}): wrong --gold, --domain or --split?"
        )
    if unknown:
        logger.warning("%d predictions for unknown sessions ignored: %s", len(unknown), unknown[:5])
    scored = [s for s in labelled if s.key in matched] if cfg.only_predicted else labelled
    samples = [_sample(s, matched.get(s.key), cfg.jaccard_tau) for s in scored]
    # A method that names nothing (e.g. plain clustering) has no intent score, not a 0.
    named = any(b.intent.strip() for s in samples for b in s.pred)
    if intent_scorer is not None and named:
        samples = _with_intents(samples, intent_scorer)
    missing = [_label(s.key) for s in scored if s.key not in matched]
    repeated = [s for s in samples if s.repeats_dropped]
    foreign = [_label((s.domain, s.session_id)) for s in samples if s.unknown_items]
    if foreign:
        logger.warning(
            "%d predictions name items outside their session (scored invalid), e.g. %s",
            len(foreign),
            foreign[:5],
        )

    floor_scores: list[SessionScores] | None = None
    if cfg.with_floor:
        floor_by_key = {p.key: p for p in pair_floor(scored)}
        floor_scores = [_sample(s, floor_by_key[s.key], cfg.jaccard_tau).scores for s in scored]

    method = cfg.method_name or _method_name(predictions)
    limit = cfg.max_listed_ids
    return EvalReport(
        method=method,
        config=cfg,
        groups=_groups(samples, floor_scores, with_intents=intent_scorer is not None and named),
        samples=samples,
        diagnostics=MatchDiagnostics(
            n_predictions=len(predictions),
            n_matched=len(matched),
            n_unknown=len(unknown),
            unknown_ids=unknown[:limit],
            n_missing=len(missing),
            missing_ids=missing[:limit],
            n_duplicates=n_duplicates,
            n_unlabelled_gold=len(gold) - len(labelled),
            n_repeated_bundles=sum(s.repeats_dropped for s in repeated),
            n_sessions_with_repeats=len(repeated),
            n_unknown_item_predictions=len(foreign),
            unknown_item_ids=foreign[:limit],
        ),
    )


def _index_gold(sessions: Sequence[Session]) -> dict[Key, Session]:
    by_key: dict[Key, Session] = {}
    for session in sessions:
        if session.key in by_key:
            raise DataError(f"gold session {_label(session.key)} appears twice")
        by_key[session.key] = session
    return by_key


def _match(
    predictions: Sequence[Prediction], gold_by_key: dict[Key, Session]
) -> tuple[dict[Key, Prediction], list[str], int]:
    """Map predictions to gold keys; return (matched, unknown prediction ids, duplicates)."""
    domains_of: dict[str, list[str]] = {}
    for domain, session_id in gold_by_key:
        domains_of.setdefault(session_id, []).append(domain)
    matched: dict[Key, Prediction] = {}
    unknown: list[str] = []
    conflicting: list[str] = []
    n_duplicates = 0
    for prediction in predictions:
        key = prediction.key
        if not prediction.domain:
            domains = domains_of.get(prediction.session_id, [])
            if len(domains) > 1:
                raise DataError(
                    f"prediction for session {prediction.session_id!r} has no domain and the "
                    f"gold holds that id in {sorted(domains)}: add `domain` to the predictions "
                    "or restrict the gold with --domain"
                )
            key = (domains[0], prediction.session_id) if domains else key
        if key not in gold_by_key:
            unknown.append(_label(key))
            continue
        if key in matched:
            n_duplicates += 1
            if _content(matched[key]) != _content(prediction):
                conflicting.append(_label(key))
            continue  # an identical copy (a re-appended line) changes nothing
        matched[key] = prediction
    if conflicting:
        raise DataError(
            f"{len(conflicting)} session(s) have two or more different predictions, e.g. "
            f"{_show(conflicting, 5)}: keep one line per session (which one to score is not "
            "guessed)"
        )
    if n_duplicates:
        logger.warning("%d repeated identical prediction line(s) counted once", n_duplicates)
    return matched, unknown, n_duplicates


def _content(prediction: Prediction) -> tuple[object, ...]:
    return (prediction.bundles, prediction.parsed, prediction.errors)


def _sample(session: Session, prediction: Prediction | None, tau: float) -> SampleRecord:
    gold = session.bundles or ()
    gold_items = [b.items for b in gold]
    parsed = prediction is not None and prediction.parsed
    pred = prediction.bundles if prediction is not None else ()
    errors = list(prediction.errors) if prediction is not None else ["no prediction"]
    known = {item.item_id for item in session.items}
    unknown = tuple(dict.fromkeys(i for b in pred for i in b.items if i not in known))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        errors.append(f"{len(unknown)} item id(s) not in the session: {shown}")
    scored = parsed and not unknown
    given = [b.items for b in pred]
    unique, repeats = unique_bundles(given)
    items = [item.item_id for item in session.items]
    scores = score_session(unique, gold_items, parsed=scored, tau=tau, items=items)
    reference = (
        score_session(given, gold_items, parsed=scored, tau=tau, items=items) if repeats else None
    )
    if repeats:
        errors.append(f"{repeats} repeated bundle(s) dropped before strict scoring")
    return SampleRecord(
        domain=session.domain,
        session_id=session.session_id,
        parsed=parsed,
        missing=prediction is None,
        pred=pred,
        gold=gold,
        scores=scores,
        reference_scores=reference,
        repeats_dropped=repeats,
        unknown_items=unknown,
        errors=tuple(errors),
    )


def _with_intents(samples: list[SampleRecord], scorer: IntentScorer) -> list[SampleRecord]:
    """Score every hit's intent in one batch (one embedding call for all sessions)."""
    per_sample = [hit_intents(_unique(s.pred), s.gold) if s.scores.parsed else [] for s in samples]
    rows = scorer.score([h for hits in per_sample for h in hits])
    out, start = [], 0
    for sample, hits in zip(samples, per_sample, strict=True):
        mine = tuple(rows[start : start + len(hits)])
        start += len(hits)
        out.append(sample.model_copy(update={"intents": mine}))
    return out


def _groups(
    samples: Sequence[SampleRecord],
    floor_scores: Sequence[SessionScores] | None,
    *,
    with_intents: bool = False,
) -> list[GroupResult]:
    domains = sorted({s.domain for s in samples})
    groups = []
    for domain in [*domains, OVERALL]:
        index = [i for i, s in enumerate(samples) if domain in (OVERALL, s.domain)]
        groups.append(
            GroupResult(
                domain=domain,
                n_sessions=len(index),
                method=aggregate_all(
                    [samples[i].scores for i in index],
                    [samples[i].reference_scores or samples[i].scores for i in index],
                ),
                floor=(
                    aggregate_all([floor_scores[i] for i in index])
                    if floor_scores is not None
                    else None
                ),
                intents=(
                    summarize([row for i in index for row in samples[i].intents])
                    if with_intents
                    else None
                ),
            )
        )
    return groups


def _unique(bundles: Sequence[Bundle]) -> tuple[Bundle, ...]:
    seen: set[frozenset[str]] = set()
    kept = []
    for bundle in bundles:
        if frozenset(bundle.items) not in seen:
            seen.add(frozenset(bundle.items))
            kept.append(bundle)
    return tuple(kept)


def _method_name(predictions: Sequence[Prediction]) -> str:
    names = Counter(p.method for p in predictions if p.method and p.method != PAIR_FLOOR_METHOD)
    return names.most_common(1)[0][0] if names else "method"


def _label(key: Key) -> str:
    domain, session_id = key
    return f"{domain}/{session_id}" if domain else session_id


def _show(ids: Sequence[str], n: int) -> str:
    return ", ".join(ids[:n]) or "none"
