"""Exemplars: every training bundle as one item of knowledge (item-level memory, no teacher).

An exemplar says "these items were bought together for this intent". Its text (what a prompt
sees) is the intent and the titles; `stats` keeps the structure the item memory indexes: the
bundle's titles one by one, the titles of the same session's items outside the bundle (the
hard negatives: seen together, not bundled), and the training items' category paths. Titles
come from `Session.public()`; categories come only from training sessions (DESIGN.md §2).
"""

from __future__ import annotations

from collections.abc import Sequence

from bundlekd.data.leakage import check_sessions, split_label
from bundlekd.data.schema import Session
from bundlekd.knowledge_base.store.items import KnowledgeItem

EXEMPLAR_TEACHER = "ground-truth"
EXEMPLAR_VERSION = "exemplar-v1"
MAX_TEXT_TITLE_CHARS = 80  # per title in the prompt text; stats keep the full titles


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= MAX_TEXT_TITLE_CHARS else title[: MAX_TEXT_TITLE_CHARS - 1] + "…"


def exemplar_text(intent: str, titles: Sequence[str]) -> str:
    """`Bought together for "intent": title | title | ...`."""
    listing = " | ".join(_short(t) for t in titles)
    return f'Bought together for "{intent.strip() or "one purpose"}": {listing}'


def exemplar_items(sessions: Sequence[Session]) -> list[KnowledgeItem]:
    """One exemplar per ground-truth bundle of the given training sessions.

    Raises:
        LeakageError: a test session was passed (exemplars are the labels themselves).
    """
    # Test bundles are the test labels: never exemplars, even forced. Sessions without a split
    # were refused (or forced and recorded) where they came in (`distill`).
    check_sessions(sessions, use="exemplars", force_unknown=True, can_force=False)
    items: list[KnowledgeItem] = []
    for session in sessions:
        public = session.public()
        titles = {item.item_id: " ".join(item.title.split()) for item in public.items}
        # Training items' first category path (allowed: train only), for category evidence.
        paths = {
            titles[item.item_id]: list(item.categories[0])
            for item in session.items
            if item.categories
        }
        for bundle in session.bundles or ():
            members = [titles[i] for i in bundle.items]
            outside = [t for i, t in titles.items() if i not in set(bundle.items)]
            items.append(
                KnowledgeItem.new(
                    "exemplar",
                    exemplar_text(bundle.intent, members),
                    session.domain,
                    source_session_ids=[session.session_id],
                    source_splits=[split_label(session)],
                    teacher=EXEMPLAR_TEACHER,
                    prompt_version=EXEMPLAR_VERSION,
                    stats={
                        "intent": bundle.intent.strip(),
                        "titles": members,
                        "others": outside,
                        "title_categories": {
                            t: paths[t] for t in (*members, *outside) if t in paths
                        },
                    },
                )
            )
    return items
