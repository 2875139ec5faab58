"""Fine-tuning commands as one call each (the embedder now; the student LLM later)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.config import ProjectConfig
    from bundlekd.finetune.embedder import Progress
    from bundlekd.finetune.embedder_config import EmbedderTuneConfig


def run_embedder_tuning(
    config: ProjectConfig,
    out_dir: Path,
    tune: EmbedderTuneConfig,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fine-tune the embedder on the configured source's training split; val picks the epoch."""
    from bundlekd.data.sources import load_sessions
    from bundlekd.errors import ConfigError
    from bundlekd.finetune.embedder import tune_embedder

    data = config.data
    domains = list(data.domains) or None
    train = load_sessions(data.source, domains=domains, split="train", data_dir=data.dir)
    val = load_sessions(data.source, domains=domains, split="val", data_dir=data.dir)
    if not train or not val:
        raise ConfigError(f"{data.source} needs train and val sessions to tune the embedder")
    base = config.embedder.name if config.embedder.name not in (None, "minilm") else None
    return tune_embedder(train, val, out_dir, tune, base_model=base, progress=progress)
