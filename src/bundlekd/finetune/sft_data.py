"""SFT data: prompt-completion rows built with the one prompt builder that inference uses.

Each row is a training (or validation) session as the student sees it at inference, in the
conversational prompt-completion layout that TRL also reads:
``{"prompt": [messages], "completion": [{"role": "assistant", "content": answer}], ...}``
plus provenance: the session key, its split, the item order shown (`permutation`) and the
knowledge ids in the prompt. Validation rows also carry the gold session, for scoring.

Inputs come in three modes (`SFTDataConfig.input`), all from `agent.prompting`:
- ``titles``: the zero_shot prompt (numbered titles only);
- ``knowledge``: the icl prompt without worked examples, with retrieved knowledge (SFT+ICL);
- ``agent``: the agent's edit prompt: the grouping tool's proposals plus knowledge.

Item-order augmentation shows a session's items in `augment` random orders; the target is
remapped (product numbers are positions, `format_answer` computes them from item ids), and
with ``bundle_order="position"`` target bundles are sorted by first product number, so the
answer is a function of the prompt.

Leakage guard: training rows come from training sessions only and validation rows from
validation sessions only; a test session anywhere is refused. The file has a sidecar
manifest (`<file>.manifest.json`, written last) with the source sessions, the splits, the
settings and a hash of the rows; `read_sft_data` checks the hash.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bundlekd import __version__
from bundlekd.agent.config import AgentConfig
from bundlekd.agent.prompting import (
    KnowledgeSnippet,
    build_agent_prompt,
    build_prompt,
    prompt_version,
    target_text,
)
from bundlekd.data.schema import Session
from bundlekd.errors import ConfigError, DataError, LeakageError
from bundlekd.files import canonical_hash, iter_jsonl, read_json, write_json, write_jsonl
from bundlekd.finetune.sft_config import SFTDataConfig, SFTInput

SFT_FORMAT = "bundlekd-sft"
SFT_FORMAT_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"

Key = tuple[str, str]
ProposalInput = tuple[tuple[int, ...], list[str]]  # 0-based positions, intent hints


class PromptInputs(Protocol):
    """Where knowledge and proposals for a session's prompt come from (`sft_inputs`)."""

    def knowledge(self, session: Session) -> list[KnowledgeSnippet]: ...

    def proposals(self, session: Session) -> list[ProposalInput]: ...

    def thought(self, session: Session) -> str | None: ...

    def describe(self) -> dict[str, Any]: ...


def prompt_config(generation: AgentConfig, mode: SFTInput) -> AgentConfig:
    """The agent settings whose prompt an SFT input mode reproduces (and inference must use).

    titles = zero_shot; knowledge = icl without worked examples; agent = agent, variant edit.
    Everything else (title length, knowledge budget, kinds, max bundles) is `generation`'s.
    """
    if mode == "titles":
        update: dict[str, Any] = {"mode": "zero_shot", "n_examples": 0}
    elif mode == "knowledge":
        update = {"mode": "icl", "n_examples": 0}
    else:
        update = {"mode": "agent", "variant": "edit"}
    return AgentConfig.model_validate({**generation.model_dump(), **update})


def inference_flags(config: AgentConfig) -> list[str]:
    """`bundlekd generate` flags that rebuild the training prompt at inference."""
    flags = ["--mode", config.mode]
    if config.mode == "agent":
        flags += ["--variant", config.variant]
    else:
        flags += ["--examples", str(config.n_examples)]
    if config.uses_knowledge:
        flags += ["--knowledge-kinds", ",".join(config.knowledge_kinds)]
    if config.uses_knowledge or config.uses_tool:
        flags += ["--top-k", str(config.top_k), "--kb", "KB_DIR"]
    return flags


def check_sft_sessions(train: Sequence[Session], val: Sequence[Session]) -> None:
    """Training rows from train, validation rows from val; test sessions never (leakage)."""
    tested = sorted({s.session_id for s in [*train, *val] if s.split == "test"})
    if tested:
        raise LeakageError(
            f"SFT data from test sessions refused ({len(tested)}, e.g. {tested[:3]}): test "
            "is for the final numbers only; train on train and choose epochs on val"
        )
    wrong = sorted({str(s.split) for s in train if s.split != "train"})
    if wrong:
        raise LeakageError(f"SFT training rows take training sessions only, got split(s) {wrong}")
    wrong = sorted({str(s.split) for s in val if s.split != "val"})
    if wrong:
        raise LeakageError(f"SFT validation rows take val sessions only, got split(s) {wrong}")
    unlabelled = [s.session_id for s in [*train, *val] if s.bundles is None]
    if unlabelled:
        raise DataError(f"SFT needs ground-truth bundles; unlabelled: {unlabelled[:3]}")


def permute_session(session: Session, order: Sequence[int]) -> Session:
    """The session with its items shown in `order` (order[i] = old 0-based index at new i).

    Bundles keep their item ids, so every product number derived from them follows the items.
    """
    if sorted(order) != list(range(len(session.items))):
        raise ValueError(f"not a permutation of {len(session.items)} items: {list(order)}")
    return session.model_copy(update={"items": tuple(session.items[i] for i in order)})


def order_bundles(session: Session, how: str) -> Session:
    """Bundles sorted by their product numbers ("position"), or as given ("gt")."""
    if how == "gt" or not session.bundles:
        return session
    ranked = sorted(session.bundles, key=lambda b: sorted(session.position(i) for i in b.items))
    return session.model_copy(update={"bundles": tuple(ranked)})


def shuffled_orders(n_items: int, k: int, rng: random.Random) -> list[tuple[int, ...]]:
    """Up to k distinct non-identity orders of n items (fewer when n! is small)."""
    identity = tuple(range(n_items))
    orders: list[tuple[int, ...]] = []
    for _ in range(k * 20):
        if len(orders) == k:
            break
        order = list(identity)
        rng.shuffle(order)
        candidate = tuple(order)
        if candidate != identity and candidate not in orders:
            orders.append(candidate)
    return orders


@dataclass(frozen=True, slots=True)
class SFTRow:
    """One prompt-completion pair and where it came from."""

    prompt: tuple[dict[str, str], ...]
    completion: str
    session_key: Key
    split: str
    permutation: tuple[int, ...] | None
    knowledge_ids: tuple[str, ...]
    prompt_version: str
    n_items: int
    gold: Session | None = None  # validation rows: the session with its bundles, for scoring
    has_thought: bool = False

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "prompt": list(self.prompt),
            "completion": [{"role": "assistant", "content": self.completion}],
            "session_key": list(self.session_key),
            "split": self.split,
            "permutation": list(self.permutation) if self.permutation is not None else None,
            "knowledge_ids": list(self.knowledge_ids),
            "prompt_version": self.prompt_version,
            "n_items": self.n_items,
        }
        if self.gold is not None:
            row["session"] = self.gold.model_dump(mode="json", exclude_none=True)
        return row


def _row(
    session: Session,
    config: AgentConfig,
    mode: SFTInput,
    inputs: PromptInputs | None,
    *,
    permutation: tuple[int, ...] | None,
    thought: str | None,
    knowledge: list[KnowledgeSnippet],
) -> SFTRow:
    if mode == "agent":
        assert inputs is not None
        parts = build_agent_prompt(
            session, inputs.proposals(session), knowledge=knowledge, config=config
        )
    else:
        parts = build_prompt(session, knowledge=knowledge, config=config)
    return SFTRow(
        prompt=tuple(m.to_dict() for m in parts.messages),
        completion=target_text(session, config, thought=thought),
        session_key=session.key,
        split=str(session.split),
        permutation=permutation,
        knowledge_ids=tuple(k.id for k in parts.knowledge),
        prompt_version=parts.prompt_version,
        n_items=len(session.items),
        gold=session if session.split == "val" else None,
        has_thought=bool(thought),
    )


def build_sft_rows(
    train: Sequence[Session],
    val: Sequence[Session],
    generation: AgentConfig,
    cfg: SFTDataConfig,
    inputs: PromptInputs | None = None,
) -> list[SFTRow]:
    """Rows for training sessions (augmented) and, with `cfg.val_rows`, validation sessions.

    Raises:
        LeakageError: a test session, or sessions of the wrong split.
        ConfigError: knowledge, agent or thought rows without a source of inputs.
    """
    check_sft_sessions(train, val)
    if inputs is None and (cfg.input != "titles" or cfg.with_thought):
        raise ConfigError(f"SFT input {cfg.input!r} (or thoughts) needs a knowledge base")
    config = prompt_config(generation, cfg.input)
    rng = random.Random(cfg.seed)
    rows: list[SFTRow] = []
    for session in train:
        knowledge = inputs.knowledge(session) if inputs and config.uses_knowledge else []
        thought = inputs.thought(session) if inputs and cfg.with_thought else None
        base = order_bundles(session, cfg.bundle_order)
        if cfg.keep_original or cfg.augment == 0:
            rows.append(
                _row(base, config, cfg.input, inputs, permutation=None, thought=thought,
                     knowledge=knowledge)
            )  # fmt: skip
        for order in shuffled_orders(len(session.items), cfg.augment, rng):
            shown = order_bundles(permute_session(session, order), cfg.bundle_order)
            # Knowledge is retrieved once per session: a query of the same titles in another
            # order finds the same snippets, and each retrieval costs an embedding.
            rows.append(
                _row(shown, config, cfg.input, inputs, permutation=order, thought=None,
                     knowledge=knowledge)
            )  # fmt: skip
    if cfg.val_rows:
        for session in val:
            knowledge = inputs.knowledge(session) if inputs and config.uses_knowledge else []
            rows.append(
                _row(order_bundles(session, cfg.bundle_order), config, cfg.input, inputs,
                     permutation=None, thought=None, knowledge=knowledge)
            )  # fmt: skip
    return rows


def rows_hash(rows: Sequence[Mapping[str, Any]]) -> str:
    """The data hash: sha256 of the rows' canonical JSON (what the card records)."""
    return canonical_hash(list(rows))


def manifest_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + MANIFEST_SUFFIX)


def write_sft_data(
    path: str | Path,
    rows: Sequence[SFTRow],
    *,
    generation: AgentConfig,
    cfg: SFTDataConfig,
    source: Mapping[str, Any],
    inputs: PromptInputs | None = None,
) -> dict[str, Any]:
    """Write the rows (JSONL) and then the manifest; returns the manifest."""
    payload = [row.to_json() for row in rows]
    config = prompt_config(generation, cfg.input)
    by_split: dict[str, list[list[str]]] = {}
    for row in rows:
        keys = by_split.setdefault(row.split, [])
        if not keys or keys[-1] != list(row.session_key):
            keys.append(list(row.session_key))
    manifest = {
        "format": SFT_FORMAT,
        "format_version": SFT_FORMAT_VERSION,
        "data_hash": rows_hash(payload),
        "rows": {split: sum(r.split == split for r in rows) for split in sorted(by_split)},
        "sessions": {split: len(keys) for split, keys in sorted(by_split.items())},
        "source_sessions": by_split,
        "splits": sorted(by_split),
        "source": dict(source),
        "input": cfg.input,
        "knowledge_kinds": list(config.knowledge_kinds) if config.uses_knowledge else [],
        "inputs": inputs.describe() if inputs is not None else {},
        "prompt_version": prompt_version(config),
        "generation": config.model_dump(mode="json"),
        "inference_flags": inference_flags(config),
        "sft_data": cfg.model_dump(mode="json"),
        "n_augmented": sum(r.permutation is not None for r in rows),
        "n_with_thought": sum(r.has_thought for r in rows),
        "bundlekd_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_jsonl(path, payload)
    write_json(manifest_path(path), manifest)  # last: data without a manifest is incomplete
    return manifest


def read_sft_data(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, manifest) of an SFT file; the rows must hash to the manifest's data hash.

    Raises:
        DataError: no manifest, not an SFT file, or rows changed since the manifest.
    """
    meta_path = manifest_path(path)
    if not meta_path.is_file():
        raise DataError(f"{path}: no {meta_path.name} (write SFT data with `finetune data`)")
    manifest = read_json(meta_path)
    if not isinstance(manifest, dict) or manifest.get("format") != SFT_FORMAT:
        raise DataError(f"{meta_path}: not a {SFT_FORMAT} manifest")
    rows = []
    for line_no, row in iter_jsonl(path):
        for field in ("prompt", "completion", "split", "session_key"):
            if field not in row:
                raise DataError(f"{path}:{line_no}: missing field {field!r}")
        if row["split"] == "test":
            raise LeakageError(f"{path}:{line_no}: a test-session row; SFT never reads test")
        rows.append(row)
    if rows_hash(rows) != manifest["data_hash"]:
        raise DataError(f"{path}: rows do not match the manifest's data hash (edited?)")
    return rows, manifest
