"""Domain records: Item, Bundle, Session, Dataset, Prediction (frozen, validated).

Label leak guard (DESIGN.md §2): raw categories exist only for items that sit in some GT
bundle, so `Item.categories` may be filled for *training* sessions only. `Session.public()`
is the view every test-time consumer (prompts, retrieval queries) must use: titles only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SplitName = Literal["train", "val", "test", "all"]
Domain = str


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Item(_Record):
    item_id: str = Field(description="Domain-local item id (an ASIN in the real data).")
    title: str = Field(description="Product title; the only item text allowed at test time.")
    categories: tuple[tuple[str, ...], ...] | None = Field(
        default=None,
        description="Category paths (root first). Training sessions only: reading them at test "
        "time leaks the labels.",
    )


class Bundle(_Record):
    items: tuple[str, ...] = Field(description="Item ids of the bundle (>= 2, unique).")
    intent: str = Field(default="", description="Short free-text intent.")

    @model_validator(mode="after")
    def _check_items(self) -> Bundle:
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"bundle has duplicate items: {list(self.items)}")
        return self


class Session(_Record):
    session_id: str
    domain: Domain
    items: tuple[Item, ...]
    bundles: tuple[Bundle, ...] | None = Field(
        default=None, description="Ground truth; None when unknown (inference input)."
    )
    split: SplitName | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> Session:
        ids = [item.item_id for item in self.items]
        if not ids:
            raise ValueError(f"session {self.session_id!r} has no items")
        if len(set(ids)) != len(ids):
            raise ValueError(f"session {self.session_id!r} has duplicate item ids")
        known = set(ids)
        for bundle in self.bundles or ():
            unknown = [i for i in bundle.items if i not in known]
            if unknown:
                raise ValueError(
                    f"session {self.session_id!r}: bundle has items not in the session: {unknown}"
                )
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.domain, self.session_id)

    @property
    def titles(self) -> list[str]:
        return [item.title for item in self.items]

    def position(self, item_id: str) -> int:
        """1-based product number of an item (the order that defines "product 1..N")."""
        for index, item in enumerate(self.items, start=1):
            if item.item_id == item_id:
                return index
        raise KeyError(item_id)

    def public(self) -> Session:
        """The inference view: titles only, no categories, no ground truth."""
        items = tuple(Item(item_id=i.item_id, title=i.title) for i in self.items)
        return Session(
            session_id=self.session_id, domain=self.domain, items=items, split=self.split
        )


class Dataset(_Record):
    """Sessions of one or more domains, with the split each belongs to."""

    name: str
    sessions: tuple[Session, ...]

    def split(self, name: SplitName) -> list[Session]:
        if name == "all":
            return list(self.sessions)
        return [s for s in self.sessions if s.split == name]

    def domains(self) -> list[str]:
        return sorted({s.domain for s in self.sessions})

    def by_key(self) -> dict[tuple[str, str], Session]:
        return {s.key: s for s in self.sessions}

    def filter(self, domain: str | None = None, split: SplitName | None = None) -> list[Session]:
        chosen: Sequence[Session] = self.sessions
        if domain is not None:
            chosen = [s for s in chosen if s.domain == domain]
        if split is not None and split != "all":
            chosen = [s for s in chosen if s.split == split]
        return list(chosen)


class Prediction(_Record):
    """One line of a predictions JSONL (DESIGN.md §5)."""

    session_id: str
    domain: Domain = ""
    bundles: tuple[Bundle, ...] = ()
    parsed: bool = Field(
        default=True,
        description="The output could be read as an answer. Not a quality verdict: the "
        "evaluator's valid-output rate (>= 1 bundle of >= 2 session items) is the only 'valid'.",
    )
    raw: str = ""
    errors: tuple[str, ...] = ()
    knowledge_ids: tuple[str, ...] = ()
    proposals: tuple[Bundle, ...] = Field(
        default=(), description="The grouping tool's candidate bundles (tool and agent modes)."
    )
    latency_s: float = 0.0
    tokens: int = 0
    method: str = ""

    @model_validator(mode="before")
    @classmethod
    def _legacy_valid(cls, data: Any) -> Any:
        # Lines written before the rename call `parsed` "valid": read them as they meant it.
        if isinstance(data, dict) and "valid" in data:
            data = dict(data)
            legacy = data.pop("valid")
            data.setdefault("parsed", legacy)
        return data

    @property
    def key(self) -> tuple[str, str]:
        return (self.domain, self.session_id)
