"""A session a person labelled (a correction or an acceptance) as exemplar knowledge.

A labelled session is the same kind of knowledge as a training bundle: one exemplar per
bundle, with the titles the item memory indexes (`exemplars.exemplar_items`). What differs is
where the label came from, which every exemplar records in `stats.feedback` (source, author,
time) and `teacher` = ``"feedback"``.

Which splits may be labelled: a test session never (the evaluation's labels). A val session
neither: val sessions choose the tool's settings, and a label of one in the memory would leak
into that choice. A session without a split (a shop's live traffic) is new training data and is
recorded as ``train``; the KB's own guard still refuses it when it is a known source's test
session under another name (`data.known_splits`).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from bundlekd.data.leakage import TEST_SPLIT
from bundlekd.data.schema import Session
from bundlekd.errors import DataError, LeakageError
from bundlekd.knowledge_base.distill.exemplars import exemplar_items
from bundlekd.knowledge_base.store.items import KnowledgeItem, utc_now

FEEDBACK_TEACHER = "feedback"
FEEDBACK_VERSION = "feedback-v1"
SOURCES = ("chat", "api", "file")


def default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container
        return "unknown"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who labelled a session, through what, and when (UTC, ISO 8601)."""

    source: str
    author: str = field(default_factory=default_author)
    at: str = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise DataError(f"feedback source {self.source!r}: expected one of {SOURCES}")
        if not self.author.strip() or len(self.author) > 200:
            raise DataError("feedback author: 1 to 200 characters")

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "author": self.author, "at": self.at}


def check_labelable(session: Session) -> None:
    """Refuse sessions whose labels may not become knowledge.

    Raises:
        LeakageError: a test or val session.
        DataError: a session without bundles (there is nothing to learn from).
    """
    where = f"{session.domain}/{session.session_id}"
    if session.split == TEST_SPLIT:
        raise LeakageError(f"{where}: a test session's labels never become knowledge")
    if session.split == "val":
        raise LeakageError(
            f"{where}: a val session's labels would leak into the choice of the tool's "
            "settings (made on val); label train sessions or your own"
        )
    if not session.bundles:
        raise DataError(f"{where}: no bundles to save (a label needs at least one bundle)")


def labelled_exemplars(session: Session, provenance: Provenance) -> list[KnowledgeItem]:
    """One exemplar per bundle of `session`, recording `provenance`.

    Raises:
        LeakageError: a test or val session (`check_labelable`).
        DataError: a session without bundles.
    """
    check_labelable(session)
    # A session of one's own has no split: its labels are training data from now on.
    as_train = session.model_copy(update={"split": "train"})
    items = exemplar_items([as_train])
    out = []
    for bundle, item in zip(session.bundles or (), items, strict=True):
        # The session in the text makes the id this session's own: the same bundle labelled
        # in two sessions (or a training bundle accepted as is) is two exemplars, each
        # carrying its own session's titles and the person's provenance.
        text = f"{item.text} (labelled, session {session.session_id})"
        stats = {**item.stats, "item_ids": list(bundle.items), "feedback": provenance.to_json()}
        out.append(
            KnowledgeItem.new(
                "exemplar",
                text,
                item.domain,
                source_session_ids=item.source_session_ids,
                source_splits=item.source_splits,
                teacher=FEEDBACK_TEACHER,
                prompt_version=FEEDBACK_VERSION,
                stats=stats,
            )
        )
    return out
