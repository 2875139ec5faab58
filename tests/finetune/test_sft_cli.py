"""`bundlekd finetune data | train | serve-cmd` end to end on the sample and a tiny model."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from typer.testing import CliRunner

from bundlekd.cli import app


def test_data_train_serve_cmd_from_the_command_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "sft.jsonl"
    result = runner.invoke(
        app,
        ["finetune", "data", "--source", "sample", "--domain", "food", "--augment", "1",
         "--out", str(data)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads(Path(f"{data}.manifest.json").read_text())
    assert manifest["rows"] == {"train": 24, "val": 4}
    assert manifest["source"]["domains"] == ["food"]

    out = tmp_path / "adapter"
    args = [
        "finetune", "train", str(data), "--out", str(out), "--base", f"hf:{tiny_model_dir}",
        "--max-steps", "2", "--batch-size", "4", "--rank", "4", "--targets", "q_proj,v_proj",
        "--eval-sessions", "1", "--device", "cpu", "--threads", "1", "--no-bf16",
        "--name", "food-sft",
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["lora"]["target_modules"] == ["q_proj", "v_proj"]
    assert card["lora"]["rank"] == 4
    assert card["epochs"][0]["steps"] == 2
    assert card["epochs"][0]["val"]["n"] == 1.0  # scored with bundlekd.eval
    # The card's command reproduces the run, whatever program called it (pytest here).
    replay = shlex.split(card["train_command"])
    assert replay[:4] == ["bundlekd", "finetune", "train", str(data)]
    assert replay[replay.index("--max-steps") + 1] == "2"
    assert "--no-bf16" in replay
    assert "--rank" in replay
    assert card["served_name"] == "food-sft"

    result = runner.invoke(app, ["finetune", "serve-cmd", str(out)])
    assert result.exit_code == 0, result.output
    argv = shlex.split(result.stdout.splitlines()[0])
    assert f"food-sft={out.resolve()}" in argv
    assert argv[argv.index("--max-lora-rank") + 1] == "8"

    bad = runner.invoke(app, ["finetune", "train", str(data), "--out", str(tmp_path / "x"),
                              "--base", "openai:m@http://h/v1"])  # fmt: skip
    assert bad.exit_code == 1
    assert "--base must be smollm2 or hf:FOLDER" in bad.output
