"""Credit the grouping tool's exemplars with the hits and misses their evidence decided.

The tool's predictions name one exemplar per group (`knowledge_ids`: the training bundle whose
intent named it); that exemplar chose a name, not the grouping. The grouping comes from the
learned scorer, whose pair-specific evidence is the kernel: for a session pair (i, j), the
training item pairs (a, b) of the memory most like it (`features.KERNEL_WINDOW` of them,
weighted as the `kernw50` feature), each labelled bundled together or not. This module replays
the tool and credits that evidence per scored bundle, as strict P and R count them:

- a predicted group inside a ground-truth bundle is a hit: the bundled-together evidence of its
  pairs credits its exemplars +weight;
- any other predicted group is a false bundle: the bundled-together evidence of its pairs that
  no ground-truth bundle holds gets -weight;
- a ground-truth bundle with no predicted group inside it is a missed bundle: the not-bundled
  evidence of its pairs the tool did not group gets -weight.

Each bundle weighs 1, shared evenly by its deciding pairs, whose window weights sum to 1 (only
the part with the deciding label is credited). A bundled training pair (a, b) belongs to the
exemplar(s) holding both; a not-bundled one to the exemplars holding a or b (else to every
exemplar of its session: they list a and b as `others`), split evenly. Training sessions are
credited with all their pairs (`ToolCredit.sessions`): pruning removes sessions whole
(`bundlekd.app.pruning` says why).

Credit must come from sessions the memory has not seen: training sessions each with their own
session left out (as the scorer was fitted), or held-out labelled sessions. The category and
nearest-item features are not credited (they pool many sessions; the kernel is per pair).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bundlekd.data.leakage import check_fit_sessions
from bundlekd.errors import KnowledgeBaseError

if TYPE_CHECKING:
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.grouping.memory import DomainMemory
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
    from bundlekd.knowledge_base.store.items import KnowledgeItem

Progress = Callable[[int, int], None]


@dataclass
class Credit:
    """What one exemplar's (or one training session's) evidence decided."""

    key: str  # exemplar id, or "domain/session_id"
    helped: float = 0.0  # summed weight of its evidence in hits
    hurt: float = 0.0  # summed weight of its evidence in misses
    queries: set[tuple[str, str]] = field(default_factory=set)  # sessions it decided pairs in

    @property
    def net(self) -> float:
        return self.helped - self.hurt


@dataclass
class ToolCredit:
    exemplars: dict[str, Credit]
    sessions: dict[str, Credit]  # keyed "domain/session_id"
    members: dict[str, list[str]]  # session key -> its exemplar ids
    queries: int  # sessions replayed
    decided: dict[str, int]  # "hit" / "false pair" / "split pair" counts


def session_key(domain: str, session_id: str) -> str:
    return f"{domain}/{session_id}"


class _Owners:
    """Which exemplars every memory slot (one title of one training session) came from."""

    def __init__(self, memory: DomainMemory, exemplars: Iterable[KnowledgeItem]) -> None:
        by_session: dict[str, list[KnowledgeItem]] = defaultdict(list)
        for item in exemplars:
            for session_id in item.source_session_ids:
                by_session[session_id].append(item)
        self.session_ids: list[tuple[str, ...]] = []
        self.slot_ids: list[tuple[str, ...]] = []
        for session in memory.sessions:
            members = sorted(by_session.get(session.session_id, []), key=lambda i: i.id)
            self.session_ids.append(tuple(i.id for i in members))
            for title in session.titles:
                holders = [i.id for i in members if title in i.stats.get("titles", ())]
                self.slot_ids.append(tuple(holders))

    def of_pair(self, a: int, b: int, bundled: bool, session: int) -> tuple[str, ...]:
        held_a, held_b = set(self.slot_ids[a]), set(self.slot_ids[b])
        owners = held_a & held_b if bundled else held_a | held_b
        return tuple(sorted(owners)) or self.session_ids[session]


def credit_tool(
    tool: GroupingTool,
    items: Iterable[KnowledgeItem],
    sessions: Sequence[Session],
    *,
    leave_own_out: bool = True,
    progress: Progress | None = None,
) -> ToolCredit:
    """Replay the tool on labelled `sessions` and credit the exemplars whose kernel evidence
    decided each hit and miss (module docstring). `leave_own_out`: a session that is in the
    memory (a training session) is scored with itself left out, as the scorer was fitted.

    Only train sessions may be credited on (the leakage guard's `check_fit_sessions`): the
    credit chooses what to prune, and val judges that choice.

    Raises:
        KnowledgeBaseError: the tool's scorer has no memory (the cosine scorer).
        LeakageError: a session from val, test or no known split.
    """
    from bundlekd.knowledge_base.grouping.features import KERNEL_WINDOW
    from bundlekd.knowledge_base.grouping.learned import LearnedScorer

    scorer = tool.scorer
    if not isinstance(scorer, LearnedScorer):
        raise KnowledgeBaseError(
            f"the grouping tool's {scorer.kind} scorer decides pairs without exemplar evidence; "
            "credit needs the learned scorer (distil with --tool-scorer learned)"
        )
    check_fit_sessions(sessions, use="crediting the grouping tool's exemplars")
    exemplars = [i for i in items if i.kind == "exemplar" and i.status == "active"]
    owners = {
        domain: _Owners(memory, (i for i in exemplars if i.domain == domain))
        for domain, memory in scorer.memories.items()
    }
    result = ToolCredit({}, {}, {}, 0, {"hit": 0, "false bundle": 0, "missed bundle": 0})
    for domain, owner in owners.items():
        for k, remembered in enumerate(scorer.memories[domain].sessions):
            result.members[session_key(domain, remembered.session_id)] = list(owner.session_ids[k])
    labelled = [s for s in sessions if s.bundles and s.domain in scorer.memories]
    vectors = tool.embed(labelled)
    for done, (session, block) in enumerate(zip(labelled, vectors, strict=True), start=1):
        memory = scorer.memories[session.domain]
        exclude = memory.index.get(session.session_id) if leave_own_out else None
        matrix = scorer.session_matrix(session, block, exclude)
        key = session.key
        groups = [g for g in tool.group(session, matrix) if len(g) >= 2]
        gold = [[session.position(x) - 1 for x in b.items] for b in session.bundles or ()]
        decisions = _decisions(groups, gold)
        if decisions:
            evidence = _Evidence(block, memory, exclude, KERNEL_WINDOW)
            owner = owners[session.domain]
            for outcome, pairs, together in decisions:
                result.decided[outcome] += 1
                hit = outcome == "hit"
                for pair in pairs:
                    for a, b, k, weight in evidence.deciding(pair, bundled=together):
                        share = weight / len(pairs)
                        target = session_key(session.domain, memory.sessions[k].session_id)
                        _add(result.sessions.setdefault(target, Credit(target)), share, hit, key)
                        ids = owner.of_pair(a, b, together, k)
                        for item_id in ids:
                            credit = result.exemplars.setdefault(item_id, Credit(item_id))
                            _add(credit, share / len(ids), hit, key)
        result.queries += 1
        if progress is not None:
            progress(done, len(labelled))
    return result


def _add(credit: Credit, weight: float, hit: bool, query: tuple[str, str]) -> None:
    if hit:
        credit.helped += weight
    else:
        credit.hurt += weight
    credit.queries.add(query)


def _pairs(group: Sequence[int]) -> list[tuple[int, int]]:
    members = sorted(set(group))
    return [(a, b) for k, a in enumerate(members) for b in members[k + 1 :]]


Decision = tuple[str, list[tuple[int, int]], bool]


def _decisions(groups: Sequence[Sequence[int]], gold: Sequence[Sequence[int]]) -> list[Decision]:
    """(outcome, deciding pairs, grouped?) per scored bundle, as strict P and R count them.

    A predicted group is a hit when it lies inside a ground-truth bundle (its pairs decided
    it), else a false bundle (decided by its pairs that no ground-truth bundle holds). A
    ground-truth bundle with no group inside it is a missed bundle, decided by its pairs the
    tool did not group.
    """
    gold_sets = [set(g) for g in gold]
    grouped = {pair for g in groups for pair in _pairs(g)}
    together = {pair for g in gold for pair in _pairs(g)}
    decisions: list[Decision] = []
    for group in groups:
        pairs = _pairs(group)
        if any(set(group) <= g for g in gold_sets):
            decisions.append(("hit", pairs, True))
        else:
            decisions.append(
                ("false bundle", [p for p in pairs if p not in together] or pairs, True)
            )
    for bundle, members in zip(gold, gold_sets, strict=True):
        if len(members) >= 2 and not any(set(g) <= members for g in groups):
            split = [p for p in _pairs(bundle) if p not in grouped]
            if split:
                decisions.append(("missed bundle", split, False))
    return decisions


class _Evidence:
    """The kernel window of a session's pairs: the memory's training pairs most like each."""

    def __init__(
        self, block: np.ndarray, memory: DomainMemory, exclude: int | None, window: int
    ) -> None:
        to_memory = block @ memory.vectors.T
        keep = np.ones(len(memory.pair_a), dtype=bool)
        if exclude is not None:
            to_memory[:, memory.slot_session == exclude] = -np.inf
            keep = memory.pair_session != exclude
        self.rows = np.nonzero(keep)[0]
        self.memory = memory
        self.sim_a = to_memory[:, memory.pair_a[self.rows]]
        self.sim_b = to_memory[:, memory.pair_b[self.rows]]
        self.window = window

    def weights(self, pair: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(memory pair rows, normalised weights) of the pair's window, best first."""
        i, j = pair
        if self.rows.size == 0:
            return self.rows, np.zeros(0)
        from bundlekd.knowledge_base.grouping.features import kernel_weights, kernel_window

        window, scores = kernel_window(self.sim_a, self.sim_b, i, j, self.window)
        weights = kernel_weights(scores)
        return self.rows[window], weights / weights.sum()

    def deciding(
        self, pair: tuple[int, int], *, bundled: bool
    ) -> list[tuple[int, int, int, float]]:
        """(slot a, slot b, memory session, weight) of the window's pairs labelled `bundled`."""
        rows, weights = self.weights(pair)
        memory = self.memory
        label = 1.0 if bundled else 0.0
        return [
            (int(memory.pair_a[r]), int(memory.pair_b[r]), int(memory.pair_session[r]), float(w))
            for r, w in zip(rows, weights, strict=True)
            if memory.pair_y[r] == label
        ]
