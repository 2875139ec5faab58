"""`bundlekd baseline pair|apriori`: non-LLM baselines that write a predictions JSONL."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from bundlekd.cli.common import console, errors_to_exit, load_cli_config, styled, warn
from bundlekd.errors import ConfigError
from bundlekd.sanitize import printable

app = typer.Typer(no_args_is_help=True)

SourceOpt = Annotated[
    str, typer.Option("--source", help='Sessions: "aicl", "sample" or a sessions .jsonl.')
]
DomainOpt = Annotated[
    list[str] | None, typer.Option("--domain", help="Domain (repeatable; default all).")
]
SplitOpt = Annotated[str, typer.Option("--split", help="Split to predict: val, test, ...")]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write predictions JSONL here.")]


def _summary(title: str, predictions: Sequence, extra: dict[str, dict[str, str]]) -> Table:
    table = Table(title=title)
    extra_columns = list(next(iter(extra.values()), {}))
    table.add_column("domain")
    for column in ("sessions", "with bundle", "bundles/session", *extra_columns):
        table.add_column(column, justify="right")
    for domain in sorted({p.domain for p in predictions}):
        mine = [p for p in predictions if p.domain == domain]
        with_bundle = sum(1 for p in mine if p.bundles)
        per_session = sum(len(p.bundles) for p in mine) / len(mine)
        table.add_row(
            domain,
            str(len(mine)),
            str(with_bundle),
            f"{per_session:.2f}",
            *extra.get(domain, {}).values(),
        )
    return table


def _write(predictions: Sequence, out: Path | None) -> None:
    from bundlekd.data.predictions_jsonl import write_predictions

    if out is None:
        console.print("pass --out FILE.jsonl to save the predictions", style="dim")
        return
    count = write_predictions(out, predictions)
    console.print(f"wrote {count} predictions to {out}")


@app.command("pair")
def pair_command(
    source: SourceOpt = "aicl",
    domain: DomainOpt = None,
    split: SplitOpt = "test",
    data_dir: DataDirOpt = None,
    out: OutOpt = None,
) -> None:
    """The floor: products 1 and 2 as one bundle per session."""
    from bundlekd.baselines.pair import predict_pairs
    from bundlekd.data.sources import load_sessions

    with errors_to_exit():
        sessions = load_sessions(source, domains=domain or None, split=split, data_dir=data_dir)
        predictions = predict_pairs(sessions)
        console.print(_summary(f"pair baseline ({source}/{split})", predictions, {}))
        _write(predictions, out)


@app.command("apriori")
def apriori_command(
    source: SourceOpt = "aicl",
    domain: DomainOpt = None,
    split: SplitOpt = "test",
    data_dir: DataDirOpt = None,
    out: OutOpt = None,
    min_support: Annotated[
        float | None, typer.Option("--min-support", help="Minimum itemset support.")
    ] = None,
    min_confidence: Annotated[
        float | None, typer.Option("--min-confidence", help="Minimum rule confidence to fire.")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="Category granularity: leaf or depth-K.")
    ] = None,
    embedder: Annotated[
        str, typer.Option("--embedder", help="Title embedder: minilm, hashing or a model folder.")
    ] = "minilm",
    show_patterns: Annotated[
        int, typer.Option("--show-patterns", help="Print the top N mined patterns per domain.")
    ] = 0,
) -> None:
    """Apriori over training-bundle categories; test categories are inferred from titles."""
    from bundlekd.baselines.apriori import AprioriBaseline, AprioriConfig
    from bundlekd.data.sources import load_sessions
    from bundlekd.llm.embeddings import get_embedder

    overrides = {
        key: value
        for key, value in (
            ("min_support", min_support),
            ("min_confidence", min_confidence),
            ("level", level),
        )
        if value is not None
    }
    with errors_to_exit():
        try:
            config = AprioriConfig(**overrides)
        except ValidationError as exc:
            raise ConfigError(f"invalid Apriori option: {exc.errors()[0]['msg']}") from exc
        domains = domain or None
        train = load_sessions(source, domains=domains, split="train", data_dir=data_dir)
        sessions = load_sessions(source, domains=domains, split=split, data_dir=data_dir)
        if split in ("train", "all"):
            warn("predicting training sessions: scores are optimistic")
        start = time.perf_counter()
        baseline = AprioriBaseline(config, get_embedder(embedder)).fit(train)
        predictions = baseline.predict(sessions)
        elapsed = time.perf_counter() - start
        extra = {d: {"patterns": str(len(p))} for d, p in baseline.patterns.items()}
        console.print(_summary(f"apriori baseline ({source}/{split})", predictions, extra))
        for name, patterns in baseline.patterns.items():
            for pattern in patterns[:show_patterns]:
                console.print(styled("bold", f"  {name}:", printable(pattern.text)))
        console.print(f"fit + predict: {elapsed:.1f} s ({config.model_dump()})")
        _write(predictions, out)


@app.command("cluster")
def cluster_command(
    source: SourceOpt = "aicl",
    domain: DomainOpt = None,
    split: SplitOpt = "test",
    data_dir: DataDirOpt = None,
    out: OutOpt = None,
    fallback_pair: Annotated[
        bool,
        typer.Option(
            "--fallback-pair/--no-fallback-pair",
            help="When nothing clusters, output the most similar pair.",
        ),
    ] = True,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="minilm (default), hashing or a folder.")
    ] = None,
) -> None:
    """Title-embedding clustering; linkage and threshold tuned per domain on the val split."""
    from bundlekd.app.baselines import run_cluster_baseline

    with errors_to_exit():
        config = load_cli_config(
            data__source=source,
            data__domains=domain or None,
            data__split=split,
            data__dir=data_dir,
            embedder__name=embedder,
        ).config
        if split in ("val", "train", "all"):
            warn("predicting sessions the tuning saw: optimistic")
        start = time.perf_counter()
        run = run_cluster_baseline(config, fallback_pair=fallback_pair)
        elapsed = time.perf_counter() - start
        console.print(
            _summary(f"cluster baseline ({source}/{split})", run.predictions, run.details)
        )
        console.print(f"tune on val + predict: {elapsed:.1f} s")
        _write(run.predictions, out)
