"""The one leakage guard (DESIGN.md §2): which splits may feed what, decided in one function.

Every path that turns labelled data into something used at test time (distillation, `kb add`,
the grouping tool, embedder tuning, SFT, the baselines' fitting) passes its sources through
`check_sources` (sessions through `check_sessions`). A source is anything with a provenance: a
session (its `split`) or a knowledge row (its `source_splits`). Each one is:

- allowed: every split it names is in `allowed`;
- test: it names the test split. Refused unless `force_test`;
- unknown: it names no split, or one outside train/val/test (``"unknown"``, ``"all"``). A file
  without split fields says nothing about where its labels came from, so it is refused unless
  `force_unknown`;
- misplaced: a known split outside `allowed` (val sessions fitting a scorer). Always refused.

Forced sources are logged as a warning and returned, so the caller can record them; a forced
session without a split is recorded as ``"unknown"`` (`split_label`), never as training data.

Fitting is stricter (`check_fit_split`, `check_fit_sessions`): whatever fits or credits a
learned part (the grouping tool's scorer, `kb prune`'s credit, `kb refit-tool`) reads the train
split only, whatever a file on disk (tool.json, distill.config.yaml) says it was fitted on, and
no flag forces it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from bundlekd.data.schema import Session
from bundlekd.errors import LeakageError

logger = logging.getLogger(__name__)

TEST_SPLIT = "test"
KNOWN_SPLITS: tuple[str, ...] = ("train", "val", TEST_SPLIT)
#: Splits whose labels may feed knowledge and fitted parts (val is for choosing, not test).
NON_TEST_SPLITS: tuple[str, ...] = ("train", "val")
#: The one split a fitter may read labels from.
FIT_SPLIT = "train"
#: Recorded for a (forced) source that has no split.
UNKNOWN_SPLIT = "unknown"
_SHOWN = 5


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """What `check_sources` let through only because it was forced."""

    test: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def forced(self) -> bool:
        return bool(self.test or self.unknown)


def classify(splits: Iterable[str | None], allowed: Collection[str]) -> str:
    """``"allowed"``, ``"test"``, ``"unknown"`` or ``"misplaced"`` for one source's splits."""
    named = [s for s in splits if s]
    if TEST_SPLIT in named and TEST_SPLIT not in allowed:
        return "test"
    if not named or any(s not in KNOWN_SPLITS for s in named):
        return "unknown"
    if any(s not in allowed for s in named):
        return "misplaced"
    return "allowed"


def check_sources(
    sources: Iterable[tuple[str, Iterable[str | None]]],
    *,
    use: str,
    allowed: Collection[str] = NON_TEST_SPLITS,
    force_test: bool = False,
    force_unknown: bool = False,
    can_force: bool = True,
    can_force_unknown: bool | None = None,
    noun: str = "source",
) -> SourceCheck:
    """The leakage guard: refuse sources whose splits may not feed `use`.

    Args:
        sources: (label, splits) per source; the label names it in messages.
        use: what the sources would feed ("distillation", "the knowledge base", ...).
        allowed: splits that may feed it.
        force_test: let test-split sources through (the caller records them).
        force_unknown: let sources without a known split through.
        can_force: whether the caller can force test sources in (only changes the message).
        can_force_unknown: the same for sources without a known split (default `can_force`).
        noun: what a source is, for messages ("session", "row").

    Returns:
        The sources let through only because they were forced.

    Raises:
        LeakageError: naming the use, how many sources of each kind, and a few labels.
    """
    found: dict[str, list[str]] = {"test": [], "unknown": [], "misplaced": []}
    for label, splits in sources:
        verdict = classify(splits, allowed)
        if verdict != "allowed":
            found[verdict].append(label)
    problems = []
    if found["misplaced"]:
        other = f"a split other than {'/'.join(allowed)}"
        problems.append(f"{_count(found['misplaced'], noun)} from {other}")
    if found["test"] and not force_test:
        problems.append(f"{_count(found['test'], noun)} from the test split")
    if found["unknown"] and not force_unknown:
        problems.append(f"{_count(found['unknown'], noun)} without a known split")
    if problems:
        if can_force_unknown is None:
            can_force_unknown = can_force
        refused_test = found["test"] and not force_test
        refused_unknown = found["unknown"] and not force_unknown
        forceable = (
            not found["misplaced"]
            and (can_force or not refused_test)
            and (can_force_unknown or not refused_unknown)
        )
        hint = f"only {'/'.join(allowed)} data may feed it"
        if forceable:
            hint += "; or force it (--force), and the forced sources are recorded"
        raise LeakageError(f"refusing to let {'; '.join(problems)} feed {use}: {hint}")
    check = SourceCheck(test=tuple(found["test"]), unknown=tuple(found["unknown"]))
    if check.test:
        logger.warning("FORCED: %s of the test split feed %s", _count(list(check.test), noun), use)
    if check.unknown:
        logger.warning(
            "FORCED: %s without a known split feed %s", _count(list(check.unknown), noun), use
        )
    return check


def check_sessions(
    sessions: Sequence[Session],
    *,
    use: str,
    allowed: Collection[str] = NON_TEST_SPLITS,
    force_test: bool = False,
    force_unknown: bool = False,
    can_force: bool = True,
    can_force_unknown: bool | None = None,
) -> SourceCheck:
    """`check_sources` over sessions (a session's provenance is its `split`)."""
    return check_sources(
        ((f"{s.domain}/{s.session_id}", [s.split]) for s in sessions),
        use=use,
        allowed=allowed,
        force_test=force_test,
        force_unknown=force_unknown,
        can_force=can_force,
        can_force_unknown=can_force_unknown,
        noun="session",
    )


def check_fit_split(split: object, *, use: str, where: str = "") -> str:
    """The split a fitter is told to draw from (a recorded setting), when it is train.

    Raises:
        LeakageError: any other split (test, val, unknown or not a string); never forceable,
            whatever the file that recorded it says. `where` names that file.
    """
    if split == FIT_SPLIT:
        return FIT_SPLIT
    source = f"{where} says " if where else ""
    raise LeakageError(
        f"refusing to fit {use} on the {split!r} split ({source}it was fitted on it): only "
        f"{FIT_SPLIT} labels may fit it, and no flag overrides this"
    )


def check_fit_sessions(sessions: Sequence[Session], *, use: str) -> SourceCheck:
    """`check_sessions` for a fitter: train sessions only, never forceable."""
    return check_sessions(sessions, use=use, allowed=(FIT_SPLIT,), can_force=False)


def split_label(session: Session) -> str:
    """What provenance records for a session: its split, or ``"unknown"``."""
    return session.split or UNKNOWN_SPLIT


def _count(labels: list[str], noun: str) -> str:
    shown = ", ".join(labels[:_SHOWN]) + (" ..." if len(labels) > _SHOWN else "")
    return f"{len(labels)} {noun}{'' if len(labels) == 1 else 's'} ({shown})"
