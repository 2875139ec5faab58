"""Issue 25's eleven findings, one test each (each failed on main before the fix): `kb prune`,
`kb refit-tool` and the history commands as a new user meets them. The shipped sample, the
hashing embedder, the learned tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kb_writers import check_consistent, cli, copy_kb, distill, refit

from bundlekd.app import pruning
from bundlekd.app.tool_credit import credit_tool
from bundlekd.data.sources import load_sample
from bundlekd.errors import ConfigError, DataError, KnowledgeBaseError, LeakageError
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kb_dir = tmp_path_factory.mktemp("safety") / "kb"
    distill(kb_dir)
    return kb_dir


@pytest.fixture
def kb_dir(sample_kb: Path, tmp_path: Path) -> Path:
    return copy_kb(sample_kb, tmp_path / "kb")


def _tool(kb_dir: Path) -> dict:
    return json.loads((kb_dir / "tool" / "tool.json").read_text())


def _write_tool(kb_dir: Path, saved: dict) -> None:
    (kb_dir / "tool" / "tool.json").write_text(json.dumps(saved))


def _worse_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every prune's refit look worse on val: the prune is rejected."""
    real = pruning.tool_scores
    calls: list[int] = []

    def scores(tool, sessions):  # type: ignore[no-untyped-def]
        calls.append(1)
        got = real(tool, sessions)
        return got if len(calls) % 2 else {d: (p - 0.01, r) for d, (p, r) in got.items()}

    monkeypatch.setattr(pruning, "tool_scores", scores)


# 1 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-0.1"])
def test_1_a_nan_or_infinite_tolerance_is_refused_before_any_work(kb_dir: Path, value: str) -> None:
    history = (kb_dir / "history.jsonl").read_bytes()
    output = cli("kb", "prune", str(kb_dir), "--tolerance", value, code=2)
    assert "--tolerance" in output
    assert (kb_dir / "history.jsonl").read_bytes() == history
    with pytest.raises(ConfigError, match="tolerance"):
        pruning.prune_kb(kb_dir, tolerance=float(value))


def test_1_history_stays_strict_json(kb_dir: Path) -> None:
    store = KnowledgeStore(kb_dir)
    history = store.history_path.read_bytes()

    def log_nan() -> None:
        with store.transaction("prune") as tx:
            tx.changed = True
            tx.summary = {"tolerance": float("nan")}

    with pytest.raises(KnowledgeBaseError, match="non-finite"):
        log_nan()
    assert store.history_path.read_bytes() == history
    check_consistent(kb_dir)


# 2 ---------------------------------------------------------------------------------------------
def test_2_refit_tool_waits_for_a_running_prune(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    paused, go = threading.Event(), threading.Event()
    real = pruning.tool_scores

    def slow(tool, sessions):  # type: ignore[no-untyped-def]
        paused.set()
        go.wait(30)
        return real(tool, sessions)

    monkeypatch.setattr(pruning, "tool_scores", slow)
    errors: list[BaseException] = []

    def run(target, *args):  # type: ignore[no-untyped-def]
        try:
            target(*args)
        except BaseException as exc:
            errors.append(exc)

    pruner = threading.Thread(target=run, args=(pruning.prune_kb, kb_dir))
    pruner.start()
    assert paused.wait(30)
    refitter = threading.Thread(target=run, args=(refit, kb_dir))
    refitter.start()
    deadline = time.monotonic() + 30
    while refitter.is_alive() and "is changing this knowledge base" not in caplog.text:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert refitter.is_alive(), "refit-tool ran while the prune held the KB"
    assert "`prune` (pid" in caplog.text  # the waiting writer says who holds the KB
    monkeypatch.setattr(pruning, "tool_scores", real)
    go.set()
    pruner.join(60)
    refitter.join(60)
    assert not errors
    ops = [e["op"] for e in KnowledgeStore(kb_dir).history()]
    assert ops[-2:] == ["prune", "refit-tool"]
    assert KnowledgeBase.open(kb_dir).tool_drift() is None  # the refit saw the pruned KB
    check_consistent(kb_dir)


# 3 ---------------------------------------------------------------------------------------------
def test_3_records_of_no_ops_never_evict_the_undo_of_a_real_change(kb_dir: Path) -> None:
    store = KnowledgeStore(kb_dir, keep_snapshots=2)
    before = store.load()
    victim = sorted(i.id for i in store.items())[0]
    with store.transaction("remove") as tx:
        tx.put(tx.items[victim].replace(status="removed"), "remove")
    real = store.last_seq()
    for _ in range(3):  # what a rejected prune logs: the decision, no change
        with store.transaction("prune") as tx:
            tx.changed = True
            tx.summary = {"decision": "rejected"}
    assert store.rollback_target() == real
    assert store.rollback() == real
    assert store.load() == before


def test_3_a_bare_rollback_after_a_rejected_prune_undoes_the_last_real_change(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _worse_after(monkeypatch)
    rejected = pruning.prune_kb(kb_dir, top=1)
    assert rejected.decision == "rejected"
    events = KnowledgeStore(kb_dir).history()
    assert [e["op"] for e in events] == ["add", "fit-tool", "prune"]
    assert events[-1]["snapshot"] is None  # the record takes no snapshot slot
    assert not (kb_dir / "snapshots" / f"{rejected.operation}.jsonl").exists()
    output = cli("kb", "rollback", str(kb_dir))
    assert "before operation 2" in output  # the tool fit, not the rejected prune
    assert not (kb_dir / "tool" / "tool.json").exists()
    assert "undo" in cli("kb", "history", str(kb_dir))


# 4 ---------------------------------------------------------------------------------------------
def test_4_prune_and_refit_refuse_sessions_other_than_the_recorded_ones(kb_dir: Path) -> None:
    saved = _tool(kb_dir)
    saved["metadata"]["fitted_on"]["train_hash"] = "0" * 16  # as if the data had changed
    _write_tool(kb_dir, saved)
    history = (kb_dir / "history.jsonl").read_bytes()
    for command in (["prune", "--dry-run"], ["refit-tool"]):
        output = cli("kb", command[0], str(kb_dir), *command[1:], code=1)
        assert "not the ones its tool was fitted" in output
        assert "train:" in output
        assert "--accept-data-change" in output
    assert (kb_dir / "history.jsonl").read_bytes() == history
    cli("kb", "refit-tool", str(kb_dir), "--accept-data-change")
    event = KnowledgeStore(kb_dir).history()[-1]
    assert event["op"] == "refit-tool"
    assert event["summary"]["data_changed"]["train"]["was"][1] == "0" * 16


# 5 ---------------------------------------------------------------------------------------------
def test_5_a_recorded_test_split_never_reaches_a_fitter(kb_dir: Path) -> None:
    saved = _tool(kb_dir)
    saved["metadata"]["fit"]["split"] = "test"
    _write_tool(kb_dir, saved)
    for command in (["prune", "--dry-run"], ["prune"], ["refit-tool"]):
        output = cli("kb", command[0], str(kb_dir), *command[1:], code=1)
        assert "refusing to fit" in output
        assert "'test'" in output
        assert "credited on" not in output
    # The same from distill.config.yaml (a tool file without its fit settings).
    del saved["metadata"]["fit"]
    _write_tool(kb_dir, saved)
    config = kb_dir / "distill.config.yaml"
    config.write_text(config.read_text().replace("split: train", "split: test"))
    with pytest.raises(LeakageError, match="refusing to fit"):
        pruning.prune_kb(kb_dir, dry_run=True)
    kb = KnowledgeBase.open(kb_dir, read_only=True)
    with pytest.raises(LeakageError):
        credit_tool(kb.grouping_tool(), kb.items(), load_sample().split("test"))


# 6 ---------------------------------------------------------------------------------------------
def test_6_a_read_only_kb_is_one_line_not_a_traceback(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() != 0:
        for path in [kb_dir, *kb_dir.rglob("*")]:
            path.chmod(path.stat().st_mode & 0o555)
    else:  # root ignores modes: refuse writes under the KB as a read-only mount would
        real_open = os.open

        def read_only(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
            writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT
            if str(path).startswith(str(kb_dir)) and flags & writes:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", read_only)
    try:
        for command in (["prune", "--top", "1"], ["rollback"], ["refit-tool"]):
            output = cli("kb", command[0], str(kb_dir), *command[1:], code=1)
            assert "cannot change this knowledge base" in output or "read-only" in output
    finally:
        if os.geteuid() != 0:
            for path in [kb_dir, *kb_dir.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)


# 7 ---------------------------------------------------------------------------------------------
def _run_files(tmp_path: Path, kb_dir: Path, scores: list[object], split: str) -> Path:
    ids = sorted(i.id for i in KnowledgeStore(kb_dir).items())
    preds = tmp_path / "run.jsonl"
    rows = [
        {"session_id": f"s{k}", "domain": "food", "knowledge_ids": ids[k % 3 : k % 3 + 2]}
        for k in range(len(scores))
    ]
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    folder = tmp_path / "run.eval"
    folder.mkdir(exist_ok=True)
    samples = [
        {"session_id": f"s{k}", "domain": "food", "scores": {"precision_2025": score}}
        for k, score in enumerate(scores)
    ]
    (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in samples))
    (folder / "results.json").write_text(json.dumps({"sources": {"split": split}}))
    return preds


def test_7_stats_utility_checks_its_inputs_and_warns_on_a_test_run(
    kb_dir: Path, tmp_path: Path
) -> None:
    not_predictions = tmp_path / "rules.jsonl"
    not_predictions.write_text(json.dumps({"kind": "rule", "text": "x"}) + "\n")
    samples = _run_files(tmp_path, kb_dir, [0.5, 0.2], "val").with_name("run.eval")
    output = cli(
        "kb", "stats", str(kb_dir), "--utility", str(not_predictions),
        "--samples", str(samples / "samples.jsonl"), code=1,
    )  # fmt: skip
    assert "not a predictions JSONL" in output
    preds = _run_files(tmp_path, kb_dir, [0.5, "high", 0.1], "val")
    output = cli("kb", "stats", str(kb_dir), "--utility", str(preds), code=1)
    assert "run.eval/samples.jsonl:2: scores.precision_2025 is 'high', not a number" in output
    preds = _run_files(tmp_path, kb_dir, [0.9, 0.1, 0.5, 0.4, 0.7, 0.2], "test")
    output = cli("kb", "stats", str(kb_dir), "--utility", str(preds))
    assert "TEST split" in output


# 8 ---------------------------------------------------------------------------------------------
KILLED_PRUNE = """
import os, signal, sys
from pathlib import Path
from bundlekd.app import pruning, tool_fitting
tool_fitting.fit_tool = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
pruning.prune_kb(Path(sys.argv[1]), top=1)
"""


def test_8_a_prune_killed_mid_refit_leaves_nothing_behind(kb_dir: Path, tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_PRUNE, str(kb_dir)], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    assert list(temp.iterdir()) == []  # no KB copy in the system temp folder
    cli("kb", "remove", str(kb_dir), sorted(i.id for i in KnowledgeStore(kb_dir).items())[0])
    assert not (kb_dir / ".scratch").exists()  # the next writer cleaned the killed one's copy
    check_consistent(kb_dir)


# 9 ---------------------------------------------------------------------------------------------
def test_9_negative_counts_are_refused_and_harmful_lists_only_hurt(
    kb_dir: Path, tmp_path: Path
) -> None:
    for option in ("--show", "--top", "--min-sessions"):
        assert option in cli("kb", "prune", str(kb_dir), option, "-1", code=2)
    assert "--top" in cli("kb", "stats", str(kb_dir), "--utility", "x", "--top", "0", code=2)
    preds = _run_files(tmp_path, kb_dir, [0.9, 0.8, 0.85, 0.1], "val")
    output = cli("kb", "stats", str(kb_dir), "--utility", str(preds), "--top", "5")
    harmful = output[output.index("most harmful") :]
    helpful = output[output.index("most helpful") : output.index("most harmful")]
    assert " +" not in harmful.split(")", 1)[1]
    assert " -0" not in helpful.split(")", 1)[1]


# 10 --------------------------------------------------------------------------------------------
def test_10_history_of_a_missing_kb_is_an_error(tmp_path: Path) -> None:
    output = cli("kb", "history", str(tmp_path / "nothing"), code=1)
    assert "not a knowledge base" in output
    assert not (tmp_path / "nothing").exists()


# 11 --------------------------------------------------------------------------------------------
def test_11_messages_name_the_real_problem(kb_dir: Path, tmp_path: Path) -> None:
    patterns = tmp_path / "patterns"
    rows = tmp_path / "rows.jsonl"
    pattern = {"kind": "pattern", "text": "Tea and mugs.", "domain": "food"}
    rows.write_text(json.dumps({**pattern, "source_splits": ["train"]}) + "\n")
    cli("kb", "add", str(patterns), str(rows), "--embedder", "hashing", "--index", "numpy")
    for command in ("prune", "refit-tool"):
        output = cli("kb", command, str(patterns), code=1)
        assert "has no exemplars, so no grouping tool" in output
    output = cli("kb", "refit-tool", str(tmp_path / "missing"), code=1)
    assert "not a knowledge base" in output
    assert not (tmp_path / "missing").exists()

    # A damaged tool file without a distill config: the JSON error keeps its line and column.
    (kb_dir / "distill.config.yaml").unlink()
    (kb_dir / "tool" / "tool.json").write_text('{"metadata": {"fit": }')
    from bundlekd.app.tool_fitting import recorded_fit

    with pytest.raises(ConfigError, match="line 1, column"):
        recorded_fit(kb_dir)


def test_11_a_damaged_knowledge_file_names_the_repair_that_restores_it(kb_dir: Path) -> None:
    cli("kb", "remove", str(kb_dir), sorted(i.id for i in KnowledgeStore(kb_dir).items())[0])
    before = (kb_dir / "snapshots" / "3.jsonl").read_bytes()  # 1 add, 2 fit-tool, 3 remove
    (kb_dir / "knowledge.jsonl").write_text('{"id": "cut off')
    with pytest.raises(DataError, match=f"bundlekd kb repair {kb_dir}"):
        KnowledgeStore(kb_dir).load()
    output = cli("kb", "rollback", str(kb_dir), code=1)
    assert f"bundlekd kb repair {kb_dir}" in output
    output = cli("kb", "repair", str(kb_dir))
    assert "lost operations: #3" in output
    assert (kb_dir / "knowledge.jsonl").read_bytes() == before
    assert (kb_dir / "knowledge.jsonl.corrupt-4").read_text() == '{"id": "cut off'
    assert KnowledgeBase.open(kb_dir).tool_drift() is None
    check_consistent(kb_dir)


def test_a_fit_in_a_scratch_copy_keeps_the_item_memory_cache(kb_dir: Path) -> None:
    """The tool is fitted in `.scratch/`; the exemplar vectors it embedded stay with the KB."""
    caches = list((kb_dir / "index").glob("item_memory-*.npz"))
    assert caches
    for cache in caches:
        cache.unlink()
    refit(kb_dir)
    assert list((kb_dir / "index").glob("item_memory-*.npz"))
    assert KnowledgeStore(kb_dir).history()[-1]["op"] == "refit-tool"


def test_the_api_refuses_a_nan_merge_threshold(kb_dir: Path) -> None:
    from kb_writers import rule

    with pytest.raises(ConfigError, match="merge_threshold"):
        KnowledgeBase.open(kb_dir).add([rule("Tea and cake.")], merge_threshold=float("nan"))
    assert "--merge-threshold" in cli(
        "kb", "add", str(kb_dir), "x.jsonl", "--merge-threshold", "inf", code=2
    )
