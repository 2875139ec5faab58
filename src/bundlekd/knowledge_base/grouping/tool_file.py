"""Read a saved grouping tool (`tool/tool.json`) and check every field before anything uses it.

The file is data from disk: it may be damaged, hand-edited or written by another version.
Anything that would give a traceback later (a missing intercept, arrays of the wrong length, a
domains list that does not match the model) or would quietly change the predictions (NaN or
huge coefficients, a zero scale, no fitted models) is refused here, in one line naming the
file and the command that re-fits it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bundlekd.errors import DataError, KnowledgeBaseError
from bundlekd.files import read_json
from bundlekd.knowledge_base.grouping.tool import (
    TOOL_KINDS,
    TOOL_VERSION,
    GroupSettings,
    tool_path,
)
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.knowledge_base.store.state import knowledge_hash

#: Larger parameters are not what a fit on standardised features gives: a damaged file.
MAX_MAGNITUDE = 1e6
_POOLED = "*"  # the key of a model pooled over domains (`learned.POOLED`)


@dataclass(frozen=True)
class SavedTool:
    """A checked `tool.json`: what `KnowledgeBase.grouping_tool` rebuilds the tool from."""

    path: Path
    embedder_id: str
    scorer: dict[str, Any]
    settings: dict[str, GroupSettings]
    default: GroupSettings
    metadata: dict[str, Any] = field(default_factory=dict)


def refit_hint(kb_dir: str | Path) -> str:
    return f"re-fit it with `bundlekd kb refit-tool {kb_dir}`"


def fitted_knowledge(items: Iterable[KnowledgeItem]) -> dict[str, Any]:
    """What a tool records about the knowledge it is fitted from (`metadata["knowledge"]`)."""
    items = list(items)
    return {
        "hash": knowledge_hash(items, TOOL_KINDS),
        "kinds": list(TOOL_KINDS),
        "exemplars": sum(i.kind == "exemplar" and i.status == "active" for i in items),
    }


def knowledge_drift(saved: SavedTool, items: Iterable[KnowledgeItem]) -> str | None:
    """Why the saved tool does not belong to the KB's knowledge state now, or None.

    A tool from before the knowledge hash is compared on its exemplar count only (a KB that
    changed without changing the count is not detected then).
    """
    now = fitted_knowledge(items)
    recorded = saved.metadata.get("knowledge")
    if isinstance(recorded, dict) and recorded.get("hash") is not None:
        if recorded.get("hash") == now["hash"]:
            return None
        then = recorded.get("exemplars", "?")
    else:
        then = saved.metadata.get("exemplars")
        if then is None or then == now["exemplars"]:
            return None
    kb_dir = saved.path.parent.parent
    # The memory is always the KB's own (rebuilt from its exemplars); the weights and the
    # val-chosen settings are what belongs to the older state.
    return (
        f"{saved.path}: the grouping tool was fitted on another knowledge state "
        f"({then} exemplars then, {now['exemplars']} now): its memory uses the exemplars of "
        f"now, its weights and settings are from then; {refit_hint(kb_dir)}"
    )


def load_tool_file(kb_dir: str | Path) -> SavedTool:
    """The KB's saved tool, checked.

    Raises:
        KnowledgeBaseError: no tool yet, or a file that is not a usable tool (one line naming
            the file, what is wrong and the re-fit command).
    """
    path = tool_path(kb_dir)
    if not path.is_file():
        raise KnowledgeBaseError(
            f"{kb_dir}: no grouping tool; build one with "
            "`bundlekd distill --kinds exemplar --kb DIR` (fits on train, tunes on val)"
        )
    try:
        data = read_json(path)
        return check_tool(data, path)
    except (DataError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        raise KnowledgeBaseError(f"{message}; {refit_hint(kb_dir)}") from None


def check_tool(data: Any, path: Path) -> SavedTool:
    """`data` as a SavedTool; ValueError naming the first problem."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("version") != TOOL_VERSION:
        raise ValueError(f"not a grouping tool of version {TOOL_VERSION}")
    embedder_id = data.get("embedder_id")
    if not isinstance(embedder_id, str) or not embedder_id.strip():
        raise ValueError("'embedder_id' must be a non-empty string")
    scorer = data.get("scorer")
    if not isinstance(scorer, dict):
        raise ValueError("'scorer' must be an object")
    settings_json = data.get("settings")
    if not isinstance(settings_json, dict):
        raise ValueError("'settings' must be an object of domain -> grouping settings")
    try:
        settings = {str(d): GroupSettings.model_validate(s) for d, s in settings_json.items()}
        default = GroupSettings.model_validate(data.get("default", {}))
    except ValidationError as exc:
        raise ValueError(f"grouping settings this version cannot read ({_first(exc)})") from None
    _check_scorer(scorer, settings)
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError("'metadata' must be an object")
    return SavedTool(path, embedder_id, scorer, settings, default, metadata)


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or "<settings>"
    return f"{where}: {error.get('msg', 'invalid')}"


def _check_scorer(scorer: dict[str, Any], settings: dict[str, GroupSettings]) -> None:
    kind = scorer.get("kind")
    if kind == "cosine":
        return
    if kind != "learned":
        raise ValueError(f"unknown pair scorer {kind!r} (cosine or learned)")
    from bundlekd.knowledge_base.grouping.features import FEATURE_NAMES

    if tuple(scorer.get("features") or ()) != FEATURE_NAMES:
        raise ValueError("the scorer was fitted on other features than this version computes")
    models = scorer.get("models")
    if not isinstance(models, dict) or not models:
        raise ValueError("the learned scorer holds no fitted models")
    domains = scorer.get("domains")
    if domains is not None:
        if (
            not isinstance(domains, list)
            or not domains
            or not all(isinstance(d, str) and d.strip() for d in domains)
            or len(set(domains)) != len(domains)
        ):
            raise ValueError("'domains' must be a non-empty list of distinct domain names")
        unknown = sorted(set(settings) - set(domains) - set(models))
        if _POOLED in models and unknown:
            raise ValueError(f"settings name domain(s) {unknown} the scorer's 'domains' lacks")
    elif _POOLED in models:
        raise ValueError("the pooled model needs its 'domains' list (its one-hot columns)")
    for key, model in models.items():
        width = len(FEATURE_NAMES) + (len(domains) if key == _POOLED and domains else 0)
        _check_model(key, model, width)


def _check_model(key: str, model: Any, width: int) -> None:
    where = f"model {key!r}"
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"{where}: a model must be keyed by a domain name or {_POOLED!r}")
    if not isinstance(model, dict):
        raise ValueError(f"{where}: not an object")
    for name in ("mean", "scale", "coef"):
        values = model.get(name)
        if not isinstance(values, list):
            raise ValueError(f"{where}: '{name}' must be a list of {width} numbers")
        if len(values) != width:
            raise ValueError(f"{where}: '{name}' has {len(values)} values, expected {width}")
        for value in values:
            _check_number(f"{where}: '{name}'", value)
    if any(value <= 0 for value in model["scale"]):
        raise ValueError(f"{where}: 'scale' holds a zero or negative value")
    if "intercept" not in model:
        raise ValueError(f"{where}: 'intercept' is missing")
    _check_number(f"{where}: 'intercept'", model["intercept"])


def _check_number(where: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} holds a non-number {value!r:.30}")
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ValueError(
            f"{where} holds {value!r}, not a finite number of at most {MAX_MAGNITUDE:g}"
        )
