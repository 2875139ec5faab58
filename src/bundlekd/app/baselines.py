"""Non-LLM baselines as one call each: load the configured sessions, fit/tune, predict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Prediction


@dataclass(frozen=True)
class BaselineRun:
    predictions: list[Prediction]
    details: dict[str, Any] = field(default_factory=dict)


def run_cluster_baseline(config: ProjectConfig, *, fallback_pair: bool = True) -> BaselineRun:
    """Title-embedding clustering, linkage and threshold tuned per domain on the val split.

    The split to predict comes from `config.data.split`; tuning always reads `val`.
    """
    from bundlekd.app.components import build_embedder
    from bundlekd.baselines.cluster import ClusterBaseline
    from bundlekd.data.sources import load_sessions
    from bundlekd.errors import ConfigError

    data = config.data
    domains = list(data.domains) or None
    val = load_sessions(data.source, domains=domains, split="val", data_dir=data.dir)
    targets = load_sessions(data.source, domains=domains, split=data.split, data_dir=data.dir)
    targets = targets[: data.limit] if data.limit else targets
    if not targets:
        raise ConfigError(f"no {data.split} sessions in {data.source}")
    baseline = ClusterBaseline(build_embedder(config.embedder), fallback_pair=fallback_pair)
    tuned = baseline.tune(val)
    details = {
        t.domain: {
            "linkage": t.settings.linkage,
            "threshold": f"{t.settings.threshold:.2f}",
            "val P": f"{t.precision:.3f}",
            "val R": f"{t.recall:.3f}",
        }
        for t in tuned
    }
    return BaselineRun(baseline.predict(targets), details)
