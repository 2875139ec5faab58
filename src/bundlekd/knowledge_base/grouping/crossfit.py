"""Cross-fitting: which training sessions an out-of-fold embedder may featurise.

A tuned embedder that saw a training session makes that session's titles (and its memory
neighbours) look closer than an unseen session's would: fitting the pair scorer on such rows
teaches it to trust the memory/cosine features more than they deserve at inference, where the
session is new. With K folds over the training sessions, fold k's rows are featurised by an
embedder tuned on the other folds only; at inference the embedder tuned on all training
sessions is used. A session's fold depends on its key alone (a hash), so any sample of the
training sessions (a ratio of them, a domain) keeps the folds of the full split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bundlekd.data.schema import Session

SessionKey = tuple[str, str]


def fold_of(key: SessionKey, folds: int) -> int:
    """The fold (0..folds-1) of a session, from its (domain, session id)."""
    digest = hashlib.sha256(f"{key[0]}\x1f{key[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % folds


def split_folds(sessions: Sequence[Session], folds: int) -> list[list[Session]]:
    """The sessions of each fold, in their given order."""
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, not {folds}")
    parts: list[list[Session]] = [[] for _ in range(folds)]
    for session in sessions:
        parts[fold_of(session.key, folds)].append(session)
    return parts


def out_of_fold(sessions: Sequence[Session], fold: int, folds: int) -> list[Session]:
    """The sessions an embedder for `fold` is tuned on: every other fold's."""
    return [s for s in sessions if fold_of(s.key, folds) != fold]
