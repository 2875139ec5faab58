"""Sessions a person labelled are answered with their label.

When someone corrects a session (chat `save`, `POST /v1/feedback`, `kb add --sessions`), the
next answer for that session is the correction: the tool looks the session up by its domain
and the set of its titles before it scores anything. Only labels with feedback provenance are
recalled; training bundles from a data set are not (they teach the scorer, and a val or test
session that happens to repeat a training session's titles must still be predicted, not
looked up). Other sessions learn from a correction through the item memory instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bundlekd.data.schema import Session
from bundlekd.knowledge_base.store.items import KnowledgeItem, labelled_by

#: (domain, the session's titles, normalised and sorted: a multiset, titles may repeat)
Key = tuple[str, tuple[str, ...]]


def _norm(title: str) -> str:
    return " ".join(title.split()).lower()


@dataclass(frozen=True, slots=True)
class LabelledBundle:
    titles: tuple[str, ...]  # normalised
    item_ids: tuple[str, ...]  # as labelled (empty for labels written without them)
    intent: str
    exemplar_id: str
    author: str
    source: str
    at: str


class LabelledSessions:
    """(domain, title set) -> the bundles a person gave that session."""

    def __init__(self, table: dict[Key, list[LabelledBundle]]) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    @classmethod
    def from_items(cls, items: Iterable[KnowledgeItem]) -> LabelledSessions:
        by_session: dict[tuple[str, str], list[KnowledgeItem]] = defaultdict(list)
        for item in items:
            if (
                item.kind == "exemplar"
                and item.status == "active"
                and labelled_by(item) is not None
            ):
                for session_id in item.source_session_ids:
                    by_session[(item.domain, session_id)].append(item)
        table: dict[Key, list[LabelledBundle]] = {}
        latest: dict[Key, str] = {}
        for (domain, _), exemplars in sorted(by_session.items()):
            bundles = []
            exemplars = sorted(exemplars, key=lambda i: i.id)
            # each exemplar of a session lists all of its items: its bundle and the others
            first = exemplars[0].stats
            titles = tuple(
                sorted(_norm(str(t)) for t in [*first.get("titles", []), *first.get("others", [])])
            )
            for item in exemplars:
                members = tuple(_norm(str(t)) for t in item.stats.get("titles", []))
                feedback = labelled_by(item) or {}
                bundles.append(
                    LabelledBundle(
                        members,
                        tuple(str(i) for i in item.stats.get("item_ids", [])),
                        str(item.stats.get("intent", "")),
                        item.id,
                        str(feedback.get("author", "")),
                        str(feedback.get("source", "")),
                        str(feedback.get("at", "")),
                    )
                )
            # Two sessions with the same titles: the later label wins (ties: the later id).
            key = (domain, titles)
            at = max(b.at for b in bundles)
            if key not in table or at >= latest[key]:
                table[key], latest[key] = bundles, at
        return cls(table)

    def lookup(self, session: Session) -> list[tuple[tuple[int, ...], LabelledBundle]] | None:
        """The labelled bundles as 0-based positions in `session`, or None when this session
        was never labelled. A bundle's items are found by the item ids it was labelled with
        when the session has them with the same titles, else by title (a repeated title:
        its first position no other bundle took)."""
        if not self._table:
            return None
        titles = [_norm(item.title) for item in session.items]
        found = self._table.get((session.domain, tuple(sorted(titles))))
        if found is None:
            return None
        by_id = {item.item_id: k for k, item in enumerate(session.items)}
        out = []
        for bundle in found:
            ids = [by_id.get(i) for i in bundle.item_ids]
            if len(ids) == len(bundle.titles) and all(
                k is not None and titles[k] == t for k, t in zip(ids, bundle.titles, strict=True)
            ):
                positions = [k for k in ids if k is not None]
            else:
                positions = []
                for title in bundle.titles:
                    free = [k for k, t in enumerate(titles) if t == title and k not in positions]
                    positions.append(free[0])
            out.append((tuple(sorted(positions)), bundle))
        return out
