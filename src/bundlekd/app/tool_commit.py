"""Fit a KB's grouping tool as one operation of its history, under its writer lock.

`tool/tool.json` is fitted from the knowledge, so it is versioned with it (`store.state`). A fit
(`distill`'s, `kb refit-tool`'s) runs in a scratch copy of the KB while the KB's lock is held,
and the new tool goes in through a store transaction: the snapshot keeps the tool it replaces,
history logs the operation (`fit-tool`, `refit-tool`), and `kb rollback` undoes it together with
the knowledge. No other writer can change the knowledge while the tool is fitted on it, so the
tool always matches the knowledge it was committed with.

Before a refit draws its sessions again it checks them (`draw_fit_sessions`): the recorded split
must be train (the leakage guard's `check_fit_split`), and the drawn train and val must be the
sessions the tool recorded (`check_data_identity`); a changed source is refused unless accepted,
and the acceptance is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd.errors import DataError, KnowledgeBaseError

if TYPE_CHECKING:
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
    from bundlekd.knowledge_base.kb import KnowledgeBase

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
FIT_USE = "the grouping tool's scorer"


def draw_fit_sessions(
    fit: dict[str, Any], data_dir: Path | None, *, where: str = ""
) -> tuple[list[Session], list[Session]]:
    """The training sample the tool was fitted on, drawn again as `fit` says, and the val
    sessions. The recorded split must be train, whatever `where` (the file) says.

    Raises:
        LeakageError: a recorded split other than train, or non-train sessions drawn.
    """
    from bundlekd.data.leakage import check_fit_sessions, check_fit_split
    from bundlekd.data.sampling import sample_sessions
    from bundlekd.data.sources import data_dir_from_env, load_sessions

    split = check_fit_split(fit.get("split", "train"), use=FIT_USE, where=where)
    recorded = fit.get("data_dir")
    data_dir = data_dir or data_dir_from_env() or (Path(recorded) if recorded else None)
    domains = list(fit.get("domains") or ()) or None
    sessions = load_sessions(fit["source"], domains=domains, split=split, data_dir=data_dir)
    sampled = sample_sessions(
        sessions, fit.get("ratio", 1.0), fit.get("strategy", "random"), fit.get("seed", 0)
    )
    train = sampled[: fit.get("limit")]
    check_fit_sessions(train, use=FIT_USE)
    val = load_sessions(fit["source"], domains=domains, split="val", data_dir=data_dir)
    return train, val


def session_hashes(train: Sequence[Session], val: Sequence[Session]) -> dict[str, Any]:
    """What `fit_tool` records of its sessions: counts and hashes of train and labelled val."""
    from bundlekd.files import canonical_hash

    labelled = [s for s in val if s.bundles]
    return {
        "train": (len(train), canonical_hash(sorted(s.key for s in train))),
        "val": (len(labelled), canonical_hash(sorted(s.key for s in labelled))),
    }


def check_data_identity(
    kb_dir: Path,
    train: Sequence[Session],
    val: Sequence[Session],
    *,
    accept: bool = False,
) -> dict[str, Any]:
    """Compare the sessions drawn again with the ones `tool/tool.json` records.

    Returns:
        What changed, as logged in history (empty when nothing did, or the tool recorded no
        hashes).

    Raises:
        DataError: the train or val sessions differ and `accept` is false; the message names
            which, with the counts and hashes then and now.
    """
    from bundlekd.files import read_json
    from bundlekd.knowledge_base.grouping.tool import tool_path

    try:
        metadata = read_json(tool_path(kb_dir)).get("metadata", {})
    except (DataError, AttributeError):
        return {}
    recorded = {
        "train": _recorded(metadata, "fitted_on", "train_sessions", "train_hash"),
        "val": _recorded(metadata, "tuned_on", "val_sessions", "val_hash"),
    }
    now = session_hashes(train, val)
    changed: dict[str, Any] = {}
    for split in ("train", "val"):
        then = recorded[split]
        if then is not None and then[1] != now[split][1]:
            changed[split] = {"was": list(then), "now": list(now[split])}
    if changed and not accept:
        what = "; ".join(
            f"{split}: {c['now'][0]} sessions (hash {c['now'][1]}), the tool recorded "
            f"{c['was'][0]} (hash {c['was'][1]})"
            for split, c in changed.items()
        )
        raise DataError(
            f"{kb_dir}: the sessions drawn again are not the ones its tool was fitted and tuned "
            f"on ({what}): has the data changed (--data-dir, $BUNDLEKD_DATA_DIR)? Pass "
            "--accept-data-change to fit on them anyway (logged in kb history)"
        )
    if changed:
        logger.warning("%s: fitting on changed data, as accepted: %s", kb_dir, changed)
    return changed


def _recorded(metadata: Any, key: str, count: str, digest: str) -> tuple[Any, str] | None:
    part = metadata.get(key) if isinstance(metadata, dict) else None
    if not isinstance(part, dict) or not isinstance(part.get(digest), str):
        return None
    return part.get(count), part[digest]


def require_exemplars(kb_dir: Path, what: str) -> None:
    """Refuse a KB without active exemplars in one line: it has no grouping tool to `what`."""
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

    store = KnowledgeStore(kb_dir)
    if not store.exists():
        raise KnowledgeBaseError(f"{kb_dir}: not a knowledge base (no knowledge.jsonl)")
    if not store.items(kind="exemplar"):
        raise KnowledgeBaseError(
            f"{kb_dir}: this knowledge base has no exemplars, so no grouping tool to {what} "
            "(distil with --kinds exemplar to make one)"
        )


def commit_fit(
    kb: KnowledgeBase,
    fit: dict[str, Any],
    *,
    train: Sequence[Session] | None,
    data_dir: Path | None = None,
    progress: Progress | None = None,
    op: str = "fit-tool",
    summary: dict[str, Any] | None = None,
) -> GroupingTool:
    """Fit the KB's tool as `fit` says (`fit_tool_as`) in a scratch copy, holding the KB's
    lock, and commit it as history operation `op` (undone by `kb rollback`)."""
    from bundlekd.app.tool_fitting import fit_tool_as
    from bundlekd.knowledge_base.grouping.tool import TOOL_DIR, TOOL_FILE, tool_path
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore
    from bundlekd.knowledge_base.store.scratch import scratch_copy

    store = kb.store
    with store.locked(op):
        with scratch_copy(kb.kb_dir, op) as copy:
            scratch = KnowledgeBase(KnowledgeStore(copy), kb.index, kb.embedder)
            tool = fit_tool_as(
                scratch, fit, train=train, data_dir=data_dir, progress=progress, record=None
            )
            text = tool_path(copy).read_text("utf-8")
            _keep_item_memory_cache(copy, kb.kb_dir)
        with store.transaction(op) as tx:
            tx.files = {f"{TOOL_DIR}/{TOOL_FILE}": text}
            tx.changed = True
            metadata = tool.metadata
            tx.summary = {
                "exemplars": metadata.get("exemplars"),
                "knowledge": metadata.get("knowledge", {}).get("hash"),
                "train_sessions": metadata.get("fitted_on", {}).get("train_sessions"),
                "val_scores": {
                    d: [round(v["precision"], 4), round(v["recall"], 4)]
                    for d, v in sorted(metadata.get("val_scores", {}).items())
                },
                **(summary or {}),
            }
    return tool


def _keep_item_memory_cache(copy: Path, kb_dir: Path) -> None:
    """The fit embedded the exemplars' titles into the copy's item-memory cache (a rebuildable
    cache keyed by exemplar id): keep it, so reads of the KB do not embed them again."""
    from bundlekd.files import atomic_write_bytes
    from bundlekd.knowledge_base.retrieval.item_memory import CACHE_PREFIX

    for cache in (copy / "index").glob(f"{CACHE_PREFIX}-*.npz"):
        target = kb_dir / "index" / cache.name
        data = cache.read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            atomic_write_bytes(target, data)
