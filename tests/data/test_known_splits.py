"""A test session relabelled "train" is still a test session (issue 16 item 6): `kb add` and
`finetune data` check session ids against the known source's own test split."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.data.known_splits import RowClaim, relabelled_rows, relabelled_sessions
from bundlekd.data.sessions_jsonl import write_sessions
from bundlekd.data.sources import load_sample
from bundlekd.knowledge_base.distill.exemplars import exemplar_items

RUNNER = CliRunner()


def _relabelled_sample() -> list:
    sessions = list(load_sample().sessions)
    test = next(s for s in sessions if s.split == "test" and s.domain == "food" and s.bundles)
    return [s.model_copy(update={"split": "train"}) if s == test else s for s in sessions]


def test_finetune_data_refuses_a_test_session_relabelled_train(tmp_path: Path) -> None:
    source = tmp_path / "sessions.jsonl"
    write_sessions(source, _relabelled_sample())
    args = ["finetune", "data", "--source", str(source), "--domain", "food"]
    result = RUNNER.invoke(app, [*args, "--out", str(tmp_path / "sft")])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "feed fine-tuning data: test sessions of their source" in text
    assert "(sample test)" in text
    assert not (tmp_path / "sft").exists()


def test_kb_add_refuses_exemplars_of_a_relabelled_test_session_even_forced(
    tmp_path: Path,
) -> None:
    relabelled = [s for s in _relabelled_sample() if s.split == "train" and s.domain == "food"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(i.to_row()) + "\n" for i in exemplar_items(relabelled)))
    kb_dir = tmp_path / "kb"
    args = ["kb", "add", str(kb_dir), str(rows), "--embedder", "hashing", "--index", "numpy"]
    for extra in ([], ["--force"]):
        result = RUNNER.invoke(app, [*args, *extra])
        assert result.exit_code == 1, result.output
        assert "test sessions of their source" in " ".join(result.output.split())
    knowledge = kb_dir / "knowledge.jsonl"
    assert not knowledge.exists() or knowledge.read_text() == ""


def test_rows_matched_by_id_only_can_be_forced_and_honest_rows_pass() -> None:
    test = load_sample().split("test")[0]
    train = load_sample().split("train")[0]
    rule = RowClaim("r1: rule", test.domain, (test.session_id,), ("train",))
    confirmed, by_id = relabelled_rows([rule])
    assert (confirmed, by_id) == ([], [f"r1: rule (sample test session {test.session_id})"])
    honest = RowClaim("r2: rule", train.domain, (train.session_id,), ("train",))
    other_titles = RowClaim("r3: exemplar", test.domain, (test.session_id,), ("train",), ("x",))
    assert relabelled_rows([honest, other_titles]) == ([], [])
    assert relabelled_sessions(load_sample().split("train")) == []


def test_a_session_of_ones_own_data_that_only_reuses_an_id_passes() -> None:
    test = load_sample().split("test")[0]
    item = test.items[0].model_copy(update={"item_id": "MINE-1", "title": "My own product"})
    other = test.items[1].model_copy(update={"item_id": "MINE-2", "title": "Another one"})
    mine = test.model_copy(update={"split": "train", "items": (item, other), "bundles": None})
    assert relabelled_sessions([mine]) == []
    relabelled = test.model_copy(update={"split": "train"})
    assert relabelled_sessions([relabelled]) == [f"{test.domain}/{test.session_id} (sample test)"]
