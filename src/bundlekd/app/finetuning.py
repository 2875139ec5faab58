"""Fine-tuning commands as one call each: the embedder, and the student (SFT data, training)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Prediction, Session
    from bundlekd.finetune.embedder import Progress
    from bundlekd.finetune.embedder_config import EmbedderTuneConfig
    from bundlekd.finetune.sft_validation import Scorer
    from bundlekd.finetune.trainer import BaseModelRef
    from bundlekd.finetune.trainer import Progress as TrainProgress


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


# --- the student: SFT data, training, serving ------------------------------------------------


def run_sft_data(
    config: ProjectConfig,
    out: Path,
    *,
    progress: Callable[[str], None] | None = None,
    train: Sequence[Session] | None = None,
    val: Sequence[Session] | None = None,
) -> dict[str, Any]:
    """Write SFT rows for the configured source's train (and val) sessions; returns the
    manifest. Knowledge and agent inputs come from `config.kb` (opened, read only).

    `train` / `val` replace the source's whole splits (e.g. the study's sampled training
    sessions, so the quantity of training data is a setting)."""
    from bundlekd.app.components import grouping_tool, knowledge_source, open_kb
    from bundlekd.data.known_splits import check_relabelled_sessions
    from bundlekd.data.sources import load_sessions
    from bundlekd.errors import ConfigError
    from bundlekd.finetune.sft_data import build_sft_rows, prompt_config, write_sft_data
    from bundlekd.finetune.sft_inputs import KBPromptInputs

    data, sft = config.data, config.sft.data
    domains = list(data.domains) or None
    if train is None:
        train = load_sessions(data.source, domains=domains, split="train", data_dir=data.dir)
    if val is None:
        val = load_sessions(data.source, domains=domains, split="val", data_dir=data.dir)
    train, val = list(train), list(val)
    if not train:
        raise ConfigError(f"{data.source} has no training sessions to fine-tune on")
    # A file's "split" is a claim: test sessions of a known source are refused whatever it says.
    check_relabelled_sessions([*train, *val], use="fine-tuning data", data_dir=data.dir)
    inputs = None
    if sft.input != "titles" or sft.with_thought:
        if progress:
            progress("opening the knowledge base")
        kb = open_kb(config.kb, config.embedder)
        generation = prompt_config(config.generation, sft.input)
        # No budget at retrieval: a training session's own items (hidden afterwards) would
        # spend it; the prompt builder applies the same budget once they are gone.
        unbudgeted = generation.model_copy(update={"knowledge_token_budget": 10**6})
        source = (
            knowledge_source(kb, unbudgeted, config.retrieval)
            if generation.uses_knowledge
            else None
        )
        # as generate loads it: the recorded embedder behind the embedding cache
        tool = grouping_tool(kb) if sft.input == "agent" else None
        inputs = KBPromptInputs(kb, knowledge_source=source, top_k=generation.top_k, tool=tool)
        if progress:
            progress("embedding session titles")
        inputs.prepare([*train, *val])
    if progress:
        progress(f"building rows for {len(train)} train and {len(val)} val sessions")
    rows = build_sft_rows(train, val, config.generation, sft, inputs)
    described = {"source": data.source, "domains": sorted({s.domain for s in train})}
    if data.source == "aicl":
        described["data_dir"] = str(data.dir or "")
    return write_sft_data(
        out, rows, generation=config.generation, cfg=sft, source=described, inputs=inputs
    )


def resolve_base_model(spec: str) -> BaseModelRef:
    """The HF folder a base-model spec names: "smollm2" (converted on first use) or hf:PATH."""
    from bundlekd.errors import ConfigError
    from bundlekd.finetune.trainer import BaseModelRef
    from bundlekd.llm.model_store import ensure_default_model

    spec = spec.strip() or "smollm2"
    if "+adapter:" in spec:
        raise ConfigError(f"train on a base model, not an adapter: {spec!r}")
    if spec == "smollm2":
        return BaseModelRef(path=ensure_default_model(), spec="smollm2")
    if spec.startswith("hf:") and Path(spec[3:]).is_dir():
        path = Path(spec[3:]).resolve()
        return BaseModelRef(path=path, spec=f"hf:{path}")
    raise ConfigError(f"--base must be smollm2 or hf:FOLDER (a local HF model), got {spec!r}")


def eval_scorer() -> Scorer:
    """Validation scores with `bundlekd.eval`: strict 2025 P / unique R, coverage, valid."""
    from bundlekd.eval.evaluator import EvalConfig, evaluate
    from bundlekd.eval.metrics import HEADLINE

    def score(predictions: Sequence[Prediction], gold: Sequence[Session]) -> dict[str, float]:
        report = evaluate(predictions, gold, EvalConfig(with_floor=True))
        overall = report.group()
        head = overall.headline
        floor = overall.floor[HEADLINE] if overall.floor else None
        return {
            "precision": head.precision,
            "recall": head.recall,
            "coverage": head.coverage,
            "valid": head.valid_output_rate,
            "n": float(overall.n_sessions),
            "floor_precision": floor.precision if floor else 0.0,
            "floor_recall": floor.recall if floor else 0.0,
        }

    return score


def run_sft_training(
    config: ProjectConfig,
    data_file: Path,
    out_dir: Path,
    *,
    base_spec: str,
    progress: TrainProgress | None = None,
    status: Callable[[str], None] | None = None,
    command: str = "",
    served_name: str | None = None,
) -> dict[str, Any]:
    """Fine-tune the student on an SFT file (config.sft.train); returns the adapter card."""
    from bundlekd.finetune.trainer import train_sft

    base = resolve_base_model(base_spec)
    return train_sft(
        data_file,
        out_dir,
        config.sft.train,
        base=base,
        scorer=eval_scorer(),
        progress=progress,
        status=status,
        command=command,
        served_name=served_name,
    )
