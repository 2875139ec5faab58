"""Dataset counts, as tabulated in ../shared/data/bundles/README.md (both layers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

from bundlekd.data.aicl import check_domains, load_aicl
from bundlekd.data.bundlerec import BundleRecData, load_bundlerec
from bundlekd.data.schema import Session
from bundlekd.errors import DataError


@dataclass(frozen=True)
class Spread:
    """Mean, min and max of a count."""

    mean: float
    min: int
    max: int

    @classmethod
    def of(cls, values: Sequence[int]) -> Spread:
        return cls(fmean(values), min(values), max(values)) if values else cls(0.0, 0, 0)

    def __str__(self) -> str:
        return f"{self.mean:.2f} ({self.min}–{self.max})"


@dataclass(frozen=True)
class BundleRecStats:
    """Counts of one domain of the raw BundleRec release."""

    domain: str
    sessions: int
    sessions_with_bundle: int
    sessions_without_bundle: int
    session_item_rows: int
    items_per_session: Spread
    distinct_items: int
    bundles: int
    bundle_item_rows: int
    bundle_size: Spread
    bundles_per_bundled_session: Spread
    distinct_intents: int
    titled_items: int
    untitled_session_items: int

    def rows(self) -> list[tuple[str, str]]:
        """(label, formatted value) pairs in the README's order."""
        per_session = self.bundles_per_bundled_session
        return [
            ("sessions", str(self.sessions)),
            ("sessions with ≥1 bundle", str(self.sessions_with_bundle)),
            ("sessions with no bundle", str(self.sessions_without_bundle)),
            ("session-item rows", str(self.session_item_rows)),
            ("items per session, mean (min–max)", str(self.items_per_session)),
            ("distinct items in sessions", str(self.distinct_items)),
            ("bundles", str(self.bundles)),
            ("bundle-item rows", str(self.bundle_item_rows)),
            ("average bundle size (min–max)", str(self.bundle_size)),
            (
                "bundles per bundled session, mean (max)",
                f"{per_session.mean:.2f} ({per_session.max})",
            ),
            ("distinct intent strings", str(self.distinct_intents)),
            ("items with title (= items in bundles)", str(self.titled_items)),
            ("session items with no title", str(self.untitled_session_items)),
        ]


@dataclass(frozen=True)
class AICLStats:
    """Counts of one domain of the AICL split."""

    domain: str
    sessions: int
    slots: int
    items_per_session: Spread
    distinct_items: int
    bundles: int
    bundles_per_session: float
    bundle_size: Spread
    distinct_intents: int
    slots_in_no_bundle: int
    train: int
    test: int
    val: int

    def rows(self) -> list[tuple[str, str]]:
        """(label, formatted value) pairs in the README's order."""
        return [
            ("sessions", str(self.sessions)),
            ("session-item slots", str(self.slots)),
            ("items per session, mean (min–max)", str(self.items_per_session)),
            ("distinct items", str(self.distinct_items)),
            ("bundles", str(self.bundles)),
            ("bundles per session", f"{self.bundles_per_session:.2f}"),
            ("average bundle size (min–max)", str(self.bundle_size)),
            ("distinct intents", str(self.distinct_intents)),
            ("session-item slots in no GT bundle", str(self.slots_in_no_bundle)),
            ("train / test / val", f"{self.train} / {self.test} / {self.val}"),
        ]


def bundlerec_stats(data: BundleRecData) -> BundleRecStats:
    """Counts of a loaded BundleRec domain."""
    sessions = data.sessions
    bundles = [b for s in sessions for b in s.bundles or ()]
    bundled = [s for s in sessions if s.bundles]
    sizes = [len(s.items) for s in sessions]
    return BundleRecStats(
        domain=data.domain,
        sessions=len(sessions),
        sessions_with_bundle=len(bundled),
        sessions_without_bundle=len(sessions) - len(bundled),
        session_item_rows=sum(sizes),
        items_per_session=Spread.of(sizes),
        distinct_items=len({i.item_id for s in sessions for i in s.items}),
        bundles=len(bundles),
        bundle_item_rows=sum(len(b.items) for b in bundles),
        bundle_size=Spread.of([len(b.items) for b in bundles]),
        bundles_per_bundled_session=Spread.of([len(s.bundles or ()) for s in bundled]),
        distinct_intents=len(set(data.intents.values())),
        titled_items=len(data.titles),
        untitled_session_items=len(data.untitled_items),
    )


def aicl_stats(sessions: Sequence[Session], domain: str) -> AICLStats:
    """Counts of the AICL sessions of one domain."""
    chosen = [s for s in sessions if s.domain == domain]
    bundles = [b for s in chosen for b in s.bundles or ()]
    sizes = [len(s.items) for s in chosen]
    outside = sum(
        1
        for s in chosen
        for item in s.items
        if not any(item.item_id in b.items for b in s.bundles or ())
    )
    return AICLStats(
        domain=domain,
        sessions=len(chosen),
        slots=sum(sizes),
        items_per_session=Spread.of(sizes),
        distinct_items=len({i.item_id for s in chosen for i in s.items}),
        bundles=len(bundles),
        bundles_per_session=len(bundles) / len(chosen) if chosen else 0.0,
        bundle_size=Spread.of([len(b.items) for b in bundles]),
        distinct_intents=len({b.intent for b in bundles}),
        slots_in_no_bundle=outside,
        train=sum(1 for s in chosen if s.split == "train"),
        test=sum(1 for s in chosen if s.split == "test"),
        val=sum(1 for s in chosen if s.split == "val"),
    )


def compute_stats(
    data_dir: Path, source: str, domains: Sequence[str] | None = None
) -> list[BundleRecStats] | list[AICLStats]:
    """Stats per domain of ``source`` (``"aicl"`` or ``"bundlerec"``) under `data_dir`."""
    chosen = check_domains(domains)
    if source == "bundlerec":
        return [bundlerec_stats(load_bundlerec(Path(data_dir) / d, d)) for d in chosen]
    if source == "aicl":
        dataset = load_aicl(Path(data_dir), chosen, join_categories=False)
        return [aicl_stats(dataset.sessions, d) for d in chosen]
    raise DataError(f"unknown stats source {source!r}: valid choices are aicl, bundlerec")
