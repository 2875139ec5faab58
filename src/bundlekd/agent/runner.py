"""Resumable batch generation into a predictions JSONL, with a manifest written last.

Each finished batch is appended line by line (fsynced), so an interrupt loses at most the batch
in flight. A re-run skips the (domain, session_id) keys already in the file; a half-written last
line from a crash is cut off first. `<out>.manifest.json` is written atomically after the payload
(STYLE.md P9).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bundlekd import __version__
from bundlekd.agent.student import StudentAgent
from bundlekd.agent.tool_agent import ToolAgent
from bundlekd.data.predictions_jsonl import drop_partial_tail, finished_keys, prediction_to_json
from bundlekd.data.schema import Session
from bundlekd.errors import BundleKDError
from bundlekd.files import append_jsonl, iter_jsonl, write_json

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called after each batch with (sessions handled so far in this run, sessions to handle)."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one `run_batch` call did (this run only; the manifest also counts the whole file)."""

    n_done: int
    n_skipped: int
    n_valid: int
    elapsed: float
    sessions_per_min: float
    tokens: int

    @property
    def valid_rate(self) -> float:
        return self.n_valid / self.n_done if self.n_done else 0.0


def manifest_path(out_path: str | Path) -> Path:
    """`<out>.manifest.json` beside the predictions file."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".manifest.json")


def _unique(sessions: Sequence[Session]) -> list[Session]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for session in sessions:
        if session.key in seen:
            logger.warning("session %s/%s listed twice; generating once", *session.key)
            continue
        seen.add(session.key)
        unique.append(session)
    return unique


def _file_counts(out_path: Path) -> dict[str, int]:
    total = valid = 0
    if out_path.exists():
        for _, row in iter_jsonl(out_path):
            total += 1
            valid += bool(row.get("valid"))
    return {"lines": total, "valid": valid}


def run_batch(
    agent: StudentAgent | ToolAgent,
    sessions: Sequence[Session],
    out_path: str | Path,
    *,
    batch_size: int | None = None,
    on_progress: ProgressCallback | None = None,
    group_by_size: bool = True,
) -> RunSummary:
    """Generate predictions for every session not yet in `out_path`, appending as it goes.

    Args:
        agent: The student agent.
        sessions: Sessions to predict (duplicates by key are generated once).
        out_path: Predictions JSONL; created if missing, resumed if present.
        batch_size: Sessions per backend call (default: the agent's `config.batch_size`).
        on_progress: Optional callback after each batch, see `ProgressCallback`.
        group_by_size: Order sessions by item count (stable) before batching. The answer
            schema depends on the item count and a local backend batches only requests with
            one schema, so mixed batches fall apart into tiny ones; similar lengths also pad
            less. Lines then appear in that order, not the input order.

    Raises:
        LLMError: The backend failed for a whole batch; earlier batches are kept on disk.
        DataError: `out_path` holds a malformed line that is not a truncated last line.
    """
    out_path = Path(out_path)
    size = batch_size or agent.config.batch_size
    drop_partial_tail(out_path)  # a crash mid-write must not glue the next line onto it
    done_keys = finished_keys(out_path)
    unique = _unique(sessions)
    todo = [s for s in unique if s.key not in done_keys]
    if group_by_size:
        todo.sort(key=lambda s: len(s.items))
    n_skipped = len(unique) - len(todo)
    if n_skipped:
        logger.info("%s: resuming, %d sessions already done", out_path, n_skipped)

    started = time.perf_counter()
    n_done = n_valid = tokens = 0
    complete = False
    try:
        if on_progress is not None:
            on_progress(0, len(todo))
        for start in range(0, len(todo), size):
            predictions = agent.generate(todo[start : start + size])
            for prediction in predictions:
                append_jsonl(out_path, prediction_to_json(prediction))
            n_done += len(predictions)
            n_valid += sum(p.valid for p in predictions)
            tokens += sum(p.tokens for p in predictions)
            if on_progress is not None:
                on_progress(n_done, len(todo))
        complete = True
    finally:
        elapsed = time.perf_counter() - started
        summary = RunSummary(
            n_done=n_done,
            n_skipped=n_skipped,
            n_valid=n_valid,
            elapsed=round(elapsed, 3),
            sessions_per_min=round(60.0 * n_done / elapsed, 3) if elapsed > 0 else 0.0,
            tokens=tokens,
        )
        try:
            _write_manifest(agent, out_path, summary, complete=complete, batch_size=size)
        except BundleKDError:
            if complete:
                raise
            # never let a manifest problem hide the error that interrupted the run
            logger.exception("%s: could not write the manifest of an interrupted run", out_path)
    return summary


def _write_manifest(
    agent: StudentAgent | ToolAgent,
    out_path: Path,
    summary: RunSummary,
    *,
    complete: bool,
    batch_size: int,
) -> None:
    write_json(
        manifest_path(out_path),
        {
            "kind": "predictions",
            "predictions": out_path.name,
            "complete": complete,
            "bundlekd_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **agent.describe(),
            "batch_size": batch_size,
            "last_run": asdict(summary),
            "file": _file_counts(out_path),
        },
    )
