"""The adapter card and `finetune serve-cmd`: the printed line parses as a vLLM command."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.errors import DataError
from bundlekd.files import write_json
from bundlekd.finetune.adapter_card import (
    CARD_FILE,
    VLLM_LORA_RANKS,
    generate_command,
    max_lora_rank,
    serve_command,
)


def _vllm_parser(*, module: bool = False) -> argparse.ArgumentParser:
    """The flags of `vllm serve` (or of the api_server module, `module`) that the line uses."""
    parser = argparse.ArgumentParser(prog="vllm serve", exit_on_error=False)
    if module:
        parser.add_argument("--model", required=True)
    else:
        parser.add_argument("model")
    parser.add_argument("--enable-lora", action="store_true")
    parser.add_argument("--lora-modules", nargs="+", default=None)
    parser.add_argument("--max-lora-rank", type=int, choices=VLLM_LORA_RANKS)
    parser.add_argument("--served-model-name", nargs="+")
    parser.add_argument("--port", type=int)
    parser.add_argument("--max-model-len", type=int)
    return parser


def _card_folder(tmp_path: Path, name: str, *, kind: str = "lora-adapter", rank: int = 12) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    card = {
        "kind": kind,
        "base_model": {"path": str(tmp_path / "base model"), "spec": "smollm2"},
        "lora": {"rank": rank} if kind == "lora-adapter" else None,
        "served_name": "",
        "inference_flags": ["--mode", "zero_shot", "--examples", "0"],
    }
    write_json(folder / CARD_FILE, card)
    return folder


def test_serve_cmd_prints_a_line_that_parses_as_vllm_serve(tmp_path: Path) -> None:
    folder = _card_folder(tmp_path, "sft titles+aug")  # spaces must survive quoting
    result = CliRunner().invoke(app, ["finetune", "serve-cmd", str(folder), "--port", "8011"])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[0]
    argv = shlex.split(line)
    assert argv[:2] == ["vllm", "serve"]
    args = _vllm_parser().parse_args(argv[2:])
    assert args.model == str(tmp_path / "base model")
    assert args.enable_lora
    name, _, path = args.lora_modules[0].partition("=")
    assert name == "sft-titles-aug"  # a served name without spaces
    assert Path(path) == folder.resolve()
    assert (Path(path) / CARD_FILE).is_file()
    assert args.max_lora_rank == 16  # rank 12 rounds up to what vLLM accepts
    assert (args.port, args.max_model_len) == (8011, 2048)


def test_full_model_and_cpu_launcher_lines(tmp_path: Path) -> None:
    folder = _card_folder(tmp_path, "full", kind="full-model")
    argv = serve_command(
        folder, name="bkd-full", launcher="python -m vllm.entrypoints.openai.api_server"
    )
    assert argv[:3] == ["python", "-m", "vllm.entrypoints.openai.api_server"]
    assert argv[3] == "--model"  # the module takes no positional model, unlike `vllm serve`
    args = _vllm_parser(module=True).parse_args(argv[3:])
    assert args.model == str(folder.resolve())
    assert args.served_model_name == ["bkd-full"]
    assert not args.enable_lora
    assert generate_command(folder) == [
        "bundlekd", "generate", "--model", f"hf:{folder.resolve()}",
        "--mode", "zero_shot", "--examples", "0",
    ]  # fmt: skip
    lora = _card_folder(tmp_path, "lora")
    client = generate_command(lora, url="http://127.0.0.1:8000/v1")
    assert client[3] == "openai:lora@http://127.0.0.1:8000/v1"
    assert generate_command(lora)[3] == f"smollm2+adapter:{lora.resolve()}"
    # The registry reads that spelling (nothing is loaded until the first request).
    from bundlekd.llm.registry import get_llm

    local = get_llm(generate_command(lora)[3], device="cpu")
    assert local.model_id == f"smollm2-135m-instruct+{lora.resolve()}"
    served = get_llm("openai:smollm2@http://127.0.0.1:1/v1+adapter:lora")
    assert served.model_id.startswith("lora")  # vLLM addresses the adapter by its name


def test_rank_rounding_and_missing_card(tmp_path: Path) -> None:
    assert [max_lora_rank(r) for r in (1, 8, 9, 64, 300)] == [8, 8, 16, 64, 320]
    with pytest.raises(DataError, match="exceeds"):
        max_lora_rank(1024)
    with pytest.raises(DataError, match=r"no adapter_card\.json"):
        serve_command(tmp_path)
    result = CliRunner().invoke(app, ["finetune", "serve-cmd", str(tmp_path)])
    assert result.exit_code == 1
    assert "no adapter_card.json" in result.output
