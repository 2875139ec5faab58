"""Known sources know their own test split: a relabelled test session is still a test session.

A sessions file says where each session came from (`"split"`), and a knowledge row says where
its labels came from (`source_splits`). Both are claims. For the sources bundlekd knows (the
shipped `sample`, and the AICL split when the data folder is known), the claim is checked
against the source itself: a session or row that names one of the source's *test* sessions is
test data, whatever it says (issue 16: a test session relabelled `"split": "train"` was accepted
by `kb add` and `finetune data`).

A match needs the domain and session id, confirmed by the items when there are any to compare:
a session must share item ids or titles with the test session, and a row that carries titles
(exemplars) must share a title. A row without titles (rules, thoughts, patterns) can only be
matched by its session ids; as a data set of one's own may reuse such ids, that case can be
forced (`--force`), a confirmed match never.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bundlekd.data.leakage import TEST_SPLIT
from bundlekd.data.schema import Session
from bundlekd.errors import DataError, LeakageError

logger = logging.getLogger(__name__)

_SHOWN = 5


@dataclass(frozen=True, slots=True)
class KnownTest:
    """One test session of a known source, as much as a match needs."""

    source: str
    item_ids: frozenset[str]
    titles: frozenset[str]


@dataclass(frozen=True, slots=True)
class RowClaim:
    """A knowledge row's provenance: which sessions fed it, and titles to confirm a match."""

    label: str
    domain: str
    session_ids: tuple[str, ...]
    claimed_splits: tuple[str, ...]
    titles: tuple[str, ...] = ()


def _norm(title: str) -> str:
    return " ".join(title.split()).lower()


def _index(sessions: Iterable[Session], source: str) -> dict[tuple[str, str], list[KnownTest]]:
    found: dict[tuple[str, str], list[KnownTest]] = {}
    for s in sessions:
        if s.split == TEST_SPLIT:
            known = KnownTest(
                source,
                frozenset(i.item_id for i in s.items),
                frozenset(_norm(i.title) for i in s.items),
            )
            found.setdefault((s.domain, s.session_id), []).append(known)
    return found


@lru_cache(maxsize=1)
def _sample_tests() -> dict[tuple[str, str], list[KnownTest]]:
    from bundlekd.data.sources import load_sample

    return _index(load_sample().sessions, "sample")


@lru_cache(maxsize=4)
def _aicl_tests(root: str, domains: tuple[str, ...]) -> dict[tuple[str, str], list[KnownTest]]:
    from bundlekd.data.aicl import load_aicl

    return _index(load_aicl(Path(root), domains, join_categories=False).sessions, "aicl")


def known_tests(
    domains: Iterable[str], data_dir: str | Path | None = None
) -> dict[tuple[str, str], list[KnownTest]]:
    """(domain, session id) -> the test sessions of the known sources with that id.

    The sample is always checked; AICL when `data_dir` (or `$BUNDLEKD_DATA_DIR`) holds it.
    """
    from bundlekd.data.aicl import AICL_DOMAINS
    from bundlekd.data.sources import data_dir_from_env

    found = {key: list(value) for key, value in _sample_tests().items()}
    root = Path(data_dir) if data_dir else data_dir_from_env()
    wanted = tuple(sorted(set(domains) & set(AICL_DOMAINS)))
    if root is not None and wanted and (root / wanted[0] / "aicl").is_dir():
        try:
            tests = _aicl_tests(str(root.resolve()), wanted)
        except DataError as exc:
            logger.warning("cannot check against the AICL test split (%s)", exc)
            tests = {}
        for key, value in tests.items():
            found.setdefault(key, []).extend(value)
    elif wanted:
        logger.info("no AICL data folder: sessions are checked against the sample's test split")
    return found


def relabelled_sessions(
    sessions: Sequence[Session], data_dir: str | Path | None = None
) -> list[str]:
    """Sessions that do not claim the test split but are test sessions of a known source."""
    claims = [s for s in sessions if s.split != TEST_SPLIT]
    if not claims:
        return []
    tests = known_tests({s.domain for s in claims}, data_dir)
    found = []
    for session in claims:
        ids = {i.item_id for i in session.items}
        titles = {_norm(i.title) for i in session.items}
        need = min(2, len(ids))
        for known in tests.get((session.domain, session.session_id), ()):
            if len(ids & known.item_ids) >= need or len(titles & known.titles) >= need:
                found.append(f"{session.domain}/{session.session_id} ({known.source} test)")
                break
    return found


def check_relabelled_sessions(
    sessions: Sequence[Session], *, use: str, data_dir: str | Path | None = None
) -> None:
    """Refuse sessions that are test sessions of a known source under another split label.

    Raises:
        LeakageError: naming how many, a few of them, and what they would feed.
    """
    found = relabelled_sessions(sessions, data_dir)
    if found:
        raise LeakageError(
            f"refusing to let {_count(found, 'session')} feed {use}: test sessions of their "
            'source, whatever their "split" says'
        )


def relabelled_rows(
    rows: Iterable[RowClaim], data_dir: str | Path | None = None
) -> tuple[list[str], list[str]]:
    """(confirmed, by id only): rows not claiming the test split whose sessions are test
    sessions of a known source; confirmed by a shared title, or matched by session id alone
    (rows without titles)."""
    claims = [r for r in rows if TEST_SPLIT not in r.claimed_splits and r.session_ids]
    if not claims:
        return [], []
    tests = known_tests({r.domain for r in claims}, data_dir)
    confirmed, by_id = [], []
    for row in claims:
        titles = {_norm(t) for t in row.titles}
        for session_id in row.session_ids:
            matches = tests.get((row.domain, session_id), ())
            if not matches:
                continue
            if not titles:
                by_id.append(f"{row.label} ({matches[0].source} test session {session_id})")
                break
            hit = next((m for m in matches if titles & m.titles), None)
            if hit is not None:
                confirmed.append(f"{row.label} ({hit.source} test session {session_id})")
                break
    return confirmed, by_id


def check_relabelled_rows(
    rows: Iterable[RowClaim], *, use: str, force: bool = False, data_dir: str | Path | None = None
) -> None:
    """Refuse rows distilled from test sessions of a known source under another split label.

    Raises:
        LeakageError: confirmed matches always; id-only matches unless `force`.
    """
    confirmed, by_id = relabelled_rows(rows, data_dir)
    if confirmed:
        raise LeakageError(
            f"refusing to let {_count(confirmed, 'row')} feed {use}: their sessions are test "
            "sessions of their source (same ids and titles), whatever their source_splits say"
        )
    if by_id and not force:
        raise LeakageError(
            f"refusing to let {_count(by_id, 'row')} feed {use}: their source session ids are "
            "test sessions of a known source, whatever their source_splits say; if your data "
            "only reuses these ids, force it (--force)"
        )
    if by_id:
        logger.warning("FORCED: %s feed %s", _count(by_id, "row"), use)


def _count(labels: list[str], noun: str) -> str:
    shown = ", ".join(labels[:_SHOWN]) + (" ..." if len(labels) > _SHOWN else "")
    return f"{len(labels)} {noun}{'' if len(labels) == 1 else 's'} ({shown})"
