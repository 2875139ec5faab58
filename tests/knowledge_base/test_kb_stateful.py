"""Random sequences of KB writes (issue 25.7): Hypothesis' rule-based state machine over add,
remove, prune, refit-tool and rollback on a small real KB (the sample's food domain, learned
tool, hashing embedder), with a writer (remove, refit-tool, prune) killed inside its commit
now and then.

After every step: history.jsonl is strict JSON with increasing numbers, a real change (the
knowledge or the tool differ) has a snapshot and a no-op has none, the tool matches the
knowledge after a tool operation, nothing is left in `.scratch/` or the temp folder, and a
bare rollback puts back exactly the state before the last real change not yet undone (the
model's undo stack), for at least `keep_snapshots` rollbacks in a row.

The short run (a few sequences) is part of the test suite; the long one runs
`BUNDLEKD_KB_STATEFUL_EXAMPLES` sequences (at least 200 for issue 25):
    BUNDLEKD_KB_STATEFUL_EXAMPLES=200 pytest -m slow tests/knowledge_base/test_kb_stateful.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from kb_writers import DISTILL, check_consistent

from bundlekd.app.pruning import prune_kb
from bundlekd.app.tool_fitting import refit_tool
from bundlekd.errors import BundleKDError
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.store import knowledge_store
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore, read_items, undo_chain
from bundlekd.knowledge_base.store.state import read_snapshot_files

KEEP = 3  # small, so retention is exercised
STATS: Counter[str] = Counter()
STARTED = [time.monotonic()]
State = tuple[frozenset[str], bytes | None]


class Killed(BaseException):
    """A writer killed between its knowledge write and its history line."""


class KBWrites(RuleBasedStateMachine):
    source: Path
    temp: Path

    def __init__(self) -> None:
        super().__init__()
        STATS["sequences"] += 1
        if STATS["sequences"] % 25 == 0:
            print(f"{STATS['sequences']} sequences ({time.monotonic() - STARTED[0]:.0f} s)")
        self.kb_dir = Path(tempfile.mkdtemp(dir=self.temp.parent, prefix="kb-")) / "kb"
        shutil.copytree(self.source, self.kb_dir)
        KnowledgeStore(self.kb_dir).set_keep_snapshots(KEEP)
        # The state before each real change not undone, oldest first: the distill's add and
        # tool fit first (from their snapshots), then the model's own.
        store = KnowledgeStore(self.kb_dir)
        self.undo: list[State] = [self.snapshot_state(n) for n in undo_chain(store.history())[::-1]]
        self.rollbacks_in_a_row = 0
        self.added = 0

    def teardown(self) -> None:
        shutil.rmtree(self.kb_dir.parent, ignore_errors=True)

    # --- the model -----------------------------------------------------------------------------
    def state(self) -> State:
        items = KnowledgeStore(self.kb_dir).load().values()
        active = frozenset(i.model_dump_json() for i in items)  # merges change an item
        tool = self.kb_dir / "tool" / "tool.json"
        return active, tool.read_bytes() if tool.is_file() else None

    def snapshot_state(self, seq: int) -> State:
        items = read_items(self.kb_dir / "snapshots" / f"{seq}.jsonl").values()
        files = read_snapshot_files(self.kb_dir / "snapshots", seq) or {}
        tool = files.get("tool/tool.json")
        return frozenset(i.model_dump_json() for i in items), tool.encode() if tool else None

    def write(self, op: str, action) -> None:  # type: ignore[no-untyped-def]
        """Run a writer; a clean refusal changes nothing, a real change is undoable."""
        before, events = self.state(), len(KnowledgeStore(self.kb_dir).history())
        try:
            action()
        except BundleKDError:
            STATS[f"{op} refused"] += 1
            assert self.state() == before
            return
        history = KnowledgeStore(self.kb_dir).history()
        new = history[events:]
        if self.state() != before:
            assert new, "a real change without a history line"
            assert new[-1]["snapshot"] is not None, new
            self.undo.append(before)
            self.rollbacks_in_a_row = 0
            STATS[f"{op} changed"] += 1
        else:
            assert all(e["snapshot"] is None for e in new), new
            STATS[f"{op} no-op"] += 1

    # --- the rules -----------------------------------------------------------------------------
    @rule()
    def add(self) -> None:
        self.added += 1
        item = KnowledgeItem.new("rule", f"Rule {self.added}.", "food", source_splits=["train"])
        self.write("add", lambda: KnowledgeBase.open(self.kb_dir).add([item]))

    @rule(which=st.integers(0, 30))
    def remove(self, which: int) -> None:
        exemplars = sorted(i.id for i in KnowledgeStore(self.kb_dir).items(kind="exemplar"))
        if exemplars:
            victim = exemplars[which % len(exemplars)]
            self.write("remove", lambda: KnowledgeBase.open(self.kb_dir).remove([victim]))

    @rule()
    def refit(self) -> None:
        self.write("refit-tool", lambda: refit_tool(self.kb_dir))

    @rule()
    def prune(self) -> None:
        self.write("prune", lambda: prune_kb(self.kb_dir, top=1, min_queries=2))

    @rule()
    def rollback(self) -> None:
        before = self.state()
        try:
            KnowledgeBase.open(self.kb_dir).rollback()
        except BundleKDError as exc:
            refused = str(exc)
        else:
            refused = ""
        if refused:
            STATS["rollback refused"] += 1
            assert self.state() == before
            # Allowed only with nothing left to undo, or past the retention window.
            assert not self.undo or self.rollbacks_in_a_row >= KEEP, refused
            return
        assert self.undo, "rolled back with nothing to undo"
        assert self.state() == self.undo.pop()  # exactly the state before the last real change
        self.rollbacks_in_a_row += 1
        STATS["rollback"] += 1

    @rule(op=st.sampled_from(["remove", "refit-tool", "prune"]), which=st.integers(0, 30))
    def killed(self, op: str, which: int) -> None:
        """A writer killed after it changed the KB, before history logged it: the change is
        found (`unlogged_change`), the next writer logs it as `recovered`, and it is undone
        like any other."""
        exemplars = sorted(i.id for i in KnowledgeStore(self.kb_dir).items(kind="exemplar"))
        victim = exemplars[which % len(exemplars)] if exemplars else None
        actions = {
            "remove": lambda: KnowledgeBase.open(self.kb_dir).remove([victim]),
            "refit-tool": lambda: refit_tool(self.kb_dir),
            "prune": lambda: prune_kb(self.kb_dir, top=1, min_queries=2),
        }
        if victim is None:
            return
        before = self.state()
        real = knowledge_store.append_jsonl

        history = (self.kb_dir / knowledge_store.HISTORY_FILE).resolve()

        def dies(path, row):  # type: ignore[no-untyped-def]
            if Path(path).resolve() == history:  # the KB's own commit, not a scratch copy's
                raise Killed
            return real(path, row)

        knowledge_store.append_jsonl = dies  # type: ignore[assignment]
        try:
            actions[op]()
        except (Killed, BundleKDError):
            pass
        finally:
            knowledge_store.append_jsonl = real
        if self.state() != before:
            assert KnowledgeStore(self.kb_dir).unlogged_change() is not None
            self.undo.append(before)
            self.rollbacks_in_a_row = 0
            STATS[f"killed {op}: change recovered"] += 1
        else:
            STATS[f"killed {op}: nothing changed"] += 1
        KnowledgeStore(self.kb_dir).recover()  # what the next writer does first

    # --- after every step ----------------------------------------------------------------------
    @invariant()
    def consistent(self) -> None:
        check_consistent(self.kb_dir)
        assert list(self.temp.iterdir()) == [], "a writer left files in the temp folder"


def _run(source: Path, tmp_path: Path, examples: int, steps: int) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    KBWrites.source, KBWrites.temp = source, temp
    saved = tempfile.tempdir
    STARTED[0] = time.monotonic()
    tempfile.tempdir = str(temp)
    try:
        run_state_machine_as_test(
            KBWrites,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                derandomize=examples <= 10,  # the short run is the same every time
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        tempfile.tempdir = saved
    steps = sum(v for k, v in STATS.items() if k != "sequences")
    elapsed = time.monotonic() - STARTED[0]
    print(f"{STATS['sequences']} sequences, {steps} writes in {elapsed:.0f} s:")
    print(dict(sorted(STATS.items())))


@pytest.fixture(scope="module")
def food_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bundlekd.app.distillation import run_distillation
    from bundlekd.config import load_config

    kb_dir = tmp_path_factory.mktemp("stateful") / "kb"
    overrides = {**DISTILL, "kb.dir": str(kb_dir), "data.domains": ["food"]}
    run_distillation(load_config(None, overrides))
    return kb_dir


def test_random_kb_writes_keep_every_real_change_undoable(food_kb: Path, tmp_path: Path) -> None:
    STATS.clear()
    _run(food_kb, tmp_path, examples=5, steps=8)
    assert STATS["sequences"] >= 5


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("BUNDLEKD_KB_STATEFUL_EXAMPLES"),
    reason="the long run: set BUNDLEKD_KB_STATEFUL_EXAMPLES (e.g. 200)",
)
def test_many_random_kb_write_sequences(food_kb: Path, tmp_path: Path) -> None:
    STATS.clear()
    examples = int(os.environ["BUNDLEKD_KB_STATEFUL_EXAMPLES"])
    steps = int(os.environ.get("BUNDLEKD_KB_STATEFUL_STEPS", "8"))
    _run(food_kb, tmp_path, examples=examples, steps=steps)
    assert STATS["sequences"] >= examples
