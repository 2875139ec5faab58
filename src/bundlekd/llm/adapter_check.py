"""Check a PEFT LoRA adapter folder before any model loads, so a broken one is one line.

What is checked, without torch or peft: `adapter_config.json` exists, is a JSON object and
names a positive rank `r`; the weights file exists; a safetensors file's header is readable
and every tensor lies inside the file (a truncated copy fails here); and the LoRA A matrices
have the rank the config says (unless the config gives per-module ranks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bundlekd.errors import ConfigError

CONFIG_FILE = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
_MAX_HEADER = 100 * 1024 * 1024


def check_adapter_folder(folder: str | Path) -> None:
    """Raise ConfigError naming `folder` and what is wrong with it as a PEFT adapter."""
    path = Path(folder)
    where = f"adapter {folder}"
    if not path.is_dir():
        raise ConfigError(f"{where}: not a folder (expected a PEFT adapter folder)")
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise ConfigError(
            f"{where}: no {CONFIG_FILE} (not a PEFT adapter folder, or an unfinished copy)"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}: {CONFIG_FILE} is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: {CONFIG_FILE} is not a JSON object")
    rank = config.get("r")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise ConfigError(f"{where}: {CONFIG_FILE} has no positive integer rank 'r' ({rank!r})")
    weights = next((path / n for n in WEIGHT_FILES if (path / n).is_file()), None)
    if weights is None:
        raise ConfigError(f"{where}: no weights ({' or '.join(WEIGHT_FILES)})")
    if weights.suffix != ".safetensors":
        return
    header = _safetensors_header(weights, where)
    if config.get("rank_pattern"):
        return  # per-module ranks: PEFT checks them while loading
    ranks = sorted(
        {
            int(entry["shape"][0])
            for name, entry in header.items()
            if "lora_A" in name and isinstance(entry, dict) and entry.get("shape")
        }
    )
    if ranks and ranks != [rank]:
        raise ConfigError(
            f"{where}: {CONFIG_FILE} says rank r={rank} but the weights have rank "
            f"{', '.join(map(str, ranks))} (config and weights from different adapters?)"
        )


def _safetensors_header(weights: Path, where: str) -> dict[str, Any]:
    size = weights.stat().st_size
    with weights.open("rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        if length < 2 or length > min(size - 8, _MAX_HEADER):
            raise ConfigError(f"{where}: {weights.name} is truncated or not a safetensors file")
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ConfigError(f"{where}: {weights.name} has an unreadable header") from None
    if not isinstance(header, dict):
        raise ConfigError(f"{where}: {weights.name} has an unreadable header")
    data = size - 8 - length
    ends = [
        int(entry["data_offsets"][1])
        for name, entry in header.items()
        if name != "__metadata__" and isinstance(entry, dict) and entry.get("data_offsets")
    ]
    if ends and max(ends) > data:
        raise ConfigError(
            f"{where}: {weights.name} is truncated (holds {data} of the {max(ends)} bytes of "
            "tensor data its header lists); copy it again or re-run `bundlekd finetune train`"
        )
    return header
