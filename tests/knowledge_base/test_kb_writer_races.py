"""One writer lock for every operation that changes a KB (issue 25.1): each pair of writers
raced. The first is paused inside its commit, holding the lock; the second must wait (saying
who holds the KB), then run on what the first left, and the KB must stay consistent."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest
from kb_writers import WRITERS, check_consistent, copy_kb, distill

from bundlekd.errors import BundleKDError
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

PAIRS = list(itertools.combinations_with_replacement(sorted(WRITERS), 2))


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kb_dir = tmp_path_factory.mktemp("races") / "kb"
    distill(kb_dir)
    return kb_dir


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_a_second_writer_waits_for_the_first(
    sample_kb: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    first: str,
    second: str,
) -> None:
    kb_dir = copy_kb(sample_kb, tmp_path / "kb")
    if "rollback" in (first, second):  # something to undo beyond the distill itself
        WRITERS["remove"](kb_dir, 1)  # type: ignore[call-arg]
        from kb_writers import refit

        refit(kb_dir)
    paused, go = threading.Event(), threading.Event()
    commits: list[str] = []
    real = KnowledgeStore._commit

    def commit(self, tx, before):  # type: ignore[no-untyped-def]
        name = threading.current_thread().name
        commits.append(name)
        if name == "first" and not paused.is_set():
            paused.set()
            assert go.wait(60)
        return real(self, tx, before)

    monkeypatch.setattr(KnowledgeStore, "_commit", commit)
    errors: dict[str, BaseException] = {}

    def run(name: str, writer: str) -> None:
        try:
            WRITERS[writer](kb_dir)
        except BaseException as exc:
            errors[name] = exc

    one = threading.Thread(target=run, args=("first", first), name="first")
    one.start()
    assert paused.wait(60), errors
    two = threading.Thread(target=run, args=("second", second), name="second")
    two.start()
    deadline = time.monotonic() + 30
    while two.is_alive() and "is changing this knowledge base" not in caplog.text:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert two.is_alive(), f"{second} did not wait for {first}"
    assert "second" not in commits
    go.set()
    one.join(60)
    two.join(60)
    assert "first" not in errors, errors
    # The second ran on what the first left: a refusal (the tool went stale, nothing left to
    # prune, nothing to undo) is a clean one-line error, never a traceback or a lost change.
    if "second" in errors:
        assert isinstance(errors["second"], BundleKDError), errors["second"]
    last_first = max(k for k, name in enumerate(commits) if name == "first")
    assert all(k > last_first for k, name in enumerate(commits) if name == "second")
    check_consistent(kb_dir)
