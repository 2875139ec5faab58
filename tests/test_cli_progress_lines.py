"""Long loops print a plain progress line at least every N seconds when stderr is not a
terminal (issue 16.15): `finetune train` was silent for 11 minutes in a log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app


def test_a_progress_line_per_interval_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bundlekd.cli.common import progress_bar

    monkeypatch.setenv("BUNDLEKD_PROGRESS_SECONDS", "0.05")
    with progress_bar() as bar:
        task = bar.add_task("epoch 1 loss 2.000", total=10)
        bar.update(task, completed=3)
        time.sleep(0.4)  # one long step: the timer still reports
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("progress:")]
    assert len(lines) >= 3
    assert lines[0].startswith("progress: epoch 1 loss 2.000: 3/10 (")


def test_finetune_train_reports_in_a_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command's own bar (the training itself stubbed: tests/finetune trains for real)."""
    import bundlekd.app.finetuning as finetuning

    def fake_training(config: Any, data: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
        kwargs["status"]("loading the model")
        for step in range(1, 4):
            kwargs["progress"](1, step, 3, 1.5)
            time.sleep(0.15)
        return {"kind": "lora-adapter", "epochs": [], "best_epoch": 1, "chosen_on": "loss"}

    monkeypatch.setattr(finetuning, "run_sft_training", fake_training)
    monkeypatch.setenv("BUNDLEKD_PROGRESS_SECONDS", "0.1")
    data = tmp_path / "rows.jsonl"
    data.write_text("{}\n")
    result = CliRunner().invoke(app, ["finetune", "train", str(data), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "progress: epoch 1 loss 1.500:" in result.stderr
