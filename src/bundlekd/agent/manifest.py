"""The manifest beside a predictions file, and what a resume must match.

`<out>.manifest.json` records who made the predictions (the agent's `describe()`, its knowledge
source, its example embedder, the caller's context such as the KB), the run's `identity` (the
flat, comparable subset a resume must share), what the run was warned about, and the file's
line counts. It is written atomically after the payload (STYLE.md P9).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd import __version__
from bundlekd.errors import ConfigError, DataError
from bundlekd.files import iter_jsonl, read_json, write_json
from bundlekd.sanitize import redact_tree

if TYPE_CHECKING:
    from bundlekd.agent.runner import RunSummary
    from bundlekd.agent.student import StudentAgent
    from bundlekd.agent.tool_agent import ToolAgent

logger = logging.getLogger(__name__)

#: Settings that change how fast a run goes, never what it predicts.
_NEUTRAL_SETTINGS = frozenset({"batch_size"})
#: What a manifest written before `identity` existed can still be compared on.
_LEGACY_IDENTITY = ("method", "model", "prompt_version")
#: Identity fields added later: compared only when the recorded identity has them.
_LATER_FIELDS = frozenset({"kb_knowledge_hash"})


def manifest_path(out_path: str | Path) -> Path:
    """`<out>.manifest.json` beside the predictions file."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".manifest.json")


def file_counts(out_path: Path) -> dict[str, int]:
    total = parsed = 0
    if out_path.exists():
        for _, row in iter_jsonl(out_path):
            total += 1
            parsed += bool(row.get("parsed", row.get("valid")))  # "valid": before the rename
    return {"lines": total, "parsed": parsed}


def describe_run(
    agent: StudentAgent | ToolAgent, context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The agent's provenance, plus its knowledge source, examples and the caller's context."""
    description: dict[str, Any] = dict(agent.describe())
    source = getattr(agent, "knowledge_source", None)
    describe = getattr(source, "describe", None)
    if callable(describe):
        description["knowledge"] = describe()
    examples = getattr(agent, "example_index", None)
    if examples is not None and hasattr(examples, "embedder"):
        description["examples_embedder"] = examples.embedder.model_id
    description.update(context or {})
    return description


def run_identity(description: Mapping[str, Any]) -> dict[str, Any]:
    """The fields two runs must share to write one predictions file (flat, comparable keys)."""
    identity: dict[str, Any] = {
        key: description.get(key) for key in ("method", "model", "prompt_version")
    }
    config = description.get("config") or {}
    identity.update(
        {f"config.{k}": v for k, v in sorted(config.items()) if k not in _NEUTRAL_SETTINGS}
    )
    knowledge = description.get("knowledge") or {}
    kb = description.get("kb") or {}
    for key in ("kb_dir", "kb_created_at", "kb_embedder", "kb_knowledge_hash"):
        value = knowledge.get(key, kb.get(key))
        if value is not None:
            identity[key] = value
    for key in ("examples_embedder", "tool"):
        if description.get(key) is not None:
            identity[key] = description[key]
    # As the manifest will hold it (tuples become lists), so a resume compares like with like.
    normalised: dict[str, Any] = json.loads(json.dumps(identity, default=str))
    return normalised


def identity_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """`field: old -> new` for every field that differs (keys missing on one side included)."""
    differences = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            differences.append(f"{key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    return differences


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _recorded_identity(out_path: Path) -> dict[str, Any] | None:
    """The identity in the file's manifest; for a manifest written before `identity` existed,
    the fields it has (method, model, prompt version); None without a readable manifest."""
    path = manifest_path(out_path)
    if not path.exists():
        return None
    try:
        manifest = read_json(path)
    except DataError as exc:
        logger.warning("%s; resuming without comparing configurations", exc)
        return None
    if not isinstance(manifest, dict):
        return None
    recorded = manifest.get("identity")
    if isinstance(recorded, dict):
        return recorded
    return {key: manifest[key] for key in _LEGACY_IDENTITY if key in manifest}


def resume_differences(out_path: Path, identity: Mapping[str, Any]) -> list[str]:
    """The fields in which `out_path`'s recorded configuration differs from `identity`
    (empty when it matches or records none)."""
    recorded = _recorded_identity(out_path)
    if recorded is None:
        return []
    if "config.mode" not in recorded:  # a legacy manifest: compare what it recorded
        identity = {key: identity.get(key) for key in recorded}
    identity = {k: v for k, v in identity.items() if k in recorded or k not in _LATER_FIELDS}
    return identity_differences(recorded, identity)


def check_resume(out_path: Path, identity: Mapping[str, Any], *, force: bool = False) -> list[str]:
    """Refuse to resume `out_path` under another configuration; returns the forced differences.

    Raises:
        ConfigError: the file holds predictions of another configuration, and not `force`;
            the message names every field that differs.
    """
    differences = resume_differences(out_path, identity)
    if differences and not force:
        raise ConfigError(
            f"{out_path} holds predictions of another configuration ({'; '.join(differences)}); "
            "resuming would mix two methods in one file: use another --out, or --force to "
            "resume anyway"
        )
    if differences:
        logger.warning("%s: resuming another configuration (forced): %s", out_path, differences)
    return differences


def run_warnings(description: Mapping[str, Any]) -> list[str]:
    """What a reader of the results must be told about the knowledge this run used."""
    found = []
    tool = description.get("tool")
    if isinstance(tool, Mapping) and tool.get("stale"):
        found.append(str(tool["stale"]))
    for source in (description.get("knowledge"), description.get("kb")):
        if not isinstance(source, Mapping):
            continue
        if source.get("kinds_missing") and source.get("no_knowledge"):
            # Only then does it change a result: a missing kind's quota goes to the others.
            missing = "/".join(source["kinds_missing"])
            found.append(
                f"the knowledge base holds no {missing} knowledge; the prompts get no "
                "knowledge at all"
            )
        if source.get("test_items"):
            found.append(
                f"the knowledge base holds {source['test_items']} item(s) distilled from the TEST "
                "split (forced); scores on the test split are not clean"
            )
        if source.get("unknown_split_items"):
            found.append(
                f"the knowledge base holds {source['unknown_split_items']} item(s) of unknown "
                "split (forced); they may come from the test split"
            )
    return list(dict.fromkeys(found))


def write_manifest(
    description: Mapping[str, Any],
    out_path: Path,
    summary: RunSummary,
    *,
    complete: bool,
    batch_size: int,
    failure: str | None,
) -> None:
    write_json(
        manifest_path(out_path),
        redact_tree(
            {
                "kind": "predictions",
                "predictions": out_path.name,
                "complete": complete,
                "stopped_by": failure,
                "bundlekd_version": __version__,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                **description,
                "batch_size": batch_size,
                "last_run": asdict(summary),
                "warnings": list(summary.warnings),
                "file": file_counts(out_path),
            }
        ),
    )
