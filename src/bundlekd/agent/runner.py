"""Resumable batch generation into a predictions JSONL, with a manifest written last.

Each finished batch is appended with one fsync, so an interrupt loses at most the batch
in flight. A re-run skips the (domain, session_id) keys already in the file; a half-written last
line from a crash is cut off first. `<out>.manifest.json` is written atomically after the payload
(STYLE.md P9).

Three guards keep a predictions file one method's output:
- a lock file (`<out>.lock`) lets one run at a time write it (a second one fails at once);
- a resume compares this run's configuration (`run_identity`: method, model, prompt version,
  settings, KB, embedders, tool) with the one recorded in the manifest and refuses a mismatch
  unless `force`, naming the fields that differ;
- a backend failure (`LLMError`, e.g. a server outage) is never written as a prediction: the run
  stops, keeps the finished batches, marks the manifest incomplete, and a re-run retries
  exactly the sessions that are not in the file.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from bundlekd.agent.manifest import (
    check_resume,
    describe_run,
    manifest_path,
    resume_differences,
    run_identity,
    run_warnings,
    write_manifest,
)
from bundlekd.agent.student import StudentAgent
from bundlekd.agent.tool_agent import ToolAgent
from bundlekd.data.predictions_jsonl import drop_partial_tail, finished_keys, prediction_to_json
from bundlekd.data.schema import Prediction, Session
from bundlekd.errors import BundleKDError, LLMError, WriteError
from bundlekd.files import append_jsonl_rows

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called after each batch with (sessions handled so far in this run, sessions to handle)."""

BatchEngine = Callable[[Sequence[Session], int], Iterable[Sequence[Prediction]]]
"""Runs the agent over (sessions to do, batch size) and yields finished predictions in batches,
in any order (the local engine calls the agent in this process; `bundlekd.app.ray_engine` fans
the batches out over a Ray cluster). The runner writes what it yields and nothing else."""

_LOCK_WAIT_S = 1.0


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one `run_batch` call did (this run only; the manifest also counts the whole file).

    `n_parsed` counts outputs that could be read as an answer; whether they are valid output
    (>= 1 bundle of >= 2 session items) is the evaluator's call. `warnings` are what a reader
    of the results must know (knowledge missing or forced from the test split, a forced
    resume); they are also in the manifest.
    """

    n_done: int
    n_skipped: int
    n_parsed: int
    elapsed: float
    sessions_per_min: float
    tokens: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def parsed_rate(self) -> float:
        return self.n_parsed / self.n_done if self.n_done else 0.0


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


def lock_path(out_path: str | Path) -> Path:
    """`<out>.lock`: held while a run writes `out_path`."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".lock")


@contextlib.contextmanager
def out_lock(out_path: str | Path, wait_s: float = _LOCK_WAIT_S) -> Iterator[None]:
    """Hold `<out>.lock` (the same kind of file lock the KB takes), or fail at once.

    Raises:
        WriteError: another run holds it, or the lock cannot be created (read-only folder).
    """
    path = lock_path(out_path)
    lock = FileLock(str(path), timeout=wait_s)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise WriteError(
            f"{out_path}: another run is writing it ({path} is locked); wait for it to finish "
            "or use another --out"
        ) from None
    except OSError as exc:
        raise WriteError(f"{out_path}: cannot lock it ({path}): {exc.strerror or exc}") from exc
    try:
        yield
    finally:
        lock.release()


def check_out(
    agent: StudentAgent | ToolAgent,
    out_path: str | Path,
    *,
    force: bool = False,
    context: Mapping[str, Any] | None = None,
) -> None:
    """What `run_batch` checks before it writes, without writing: no other run holds
    `out_path`, and what it holds was made with this configuration (or `force`).

    Raises:
        WriteError: another run is writing it.
        ConfigError: it holds predictions of another configuration, and not `force`.
    """
    out_path = Path(out_path)
    identity = run_identity(describe_run(agent, context))
    with out_lock(out_path):
        if out_path.exists() and finished_keys(out_path):
            check_resume(out_path, identity, force=force)


def run_batch(
    agent: StudentAgent | ToolAgent,
    sessions: Sequence[Session],
    out_path: str | Path,
    *,
    batch_size: int | None = None,
    on_progress: ProgressCallback | None = None,
    group_by_size: bool = True,
    force: bool = False,
    restart_stale: bool = False,
    context: Mapping[str, Any] | None = None,
    engine: BatchEngine | None = None,
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
        force: Resume even when the file was started with another configuration (the
            differences are recorded in the manifest).
        restart_stale: Discard a file made with another configuration and start it again
            (for outputs a job owns, such as the demo's, after an upgrade changed a default).
        context: More provenance for the manifest (e.g. the KB a tool was fitted in, as
            `{"kb": {...}}`); its KB fields join the identity a resume must match.
        engine: Where the batches run (default: `agent.generate` here, batch after batch).
            Whatever the engine, this process alone appends the lines, under the lock, and
            drops a prediction it already wrote in this run or did not ask for, so a retried
            batch can never duplicate a session.

    Raises:
        LLMError: The backend failed (e.g. an outage); earlier batches are kept on disk and
            the manifest says the run is incomplete.
        ConfigError: `out_path` holds predictions of another configuration (without `force`).
        WriteError: Another run holds `out_path`, or it cannot be written.
        DataError: `out_path` holds a malformed line that is not a truncated last line.
    """
    out_path = Path(out_path)
    size = batch_size or agent.config.batch_size
    description = describe_run(agent, context)
    identity = run_identity(description)
    warnings = run_warnings(description)
    for warning in warnings:
        logger.warning("%s: %s", out_path, warning)
    with out_lock(out_path):
        drop_partial_tail(out_path)  # a crash mid-write must not glue the next line onto it
        done_keys = finished_keys(out_path)
        if done_keys and restart_stale:
            stale = resume_differences(out_path, identity)
            if stale:
                logger.warning("%s: made with another configuration, redone: %s", out_path, stale)
                out_path.unlink()
                manifest_path(out_path).unlink(missing_ok=True)
                done_keys = set()
        forced = check_resume(out_path, identity, force=force) if done_keys else []
        if forced:
            warnings.append(
                f"resumed a file of another configuration (forced): {'; '.join(forced)}"
            )
        unique = _unique(sessions)
        todo = [s for s in unique if s.key not in done_keys]
        if group_by_size:
            todo.sort(key=lambda s: len(s.items))
        n_skipped = len(unique) - len(todo)
        if n_skipped:
            logger.info("%s: resuming, %d sessions already done", out_path, n_skipped)
        return _run(
            todo,
            out_path,
            size=size,
            n_skipped=n_skipped,
            on_progress=on_progress,
            manifest={**description, "identity": identity, "forced_differences": forced},
            warnings=warnings,
            engine=engine or partial(_local_batches, agent),
        )


def _local_batches(
    agent: StudentAgent | ToolAgent, todo: Sequence[Session], size: int
) -> Iterator[list[Prediction]]:
    for start in range(0, len(todo), size):
        yield agent.generate(todo[start : start + size])


def _run(
    todo: list[Session],
    out_path: Path,
    *,
    size: int,
    n_skipped: int,
    on_progress: ProgressCallback | None,
    manifest: dict[str, Any],
    warnings: list[str],
    engine: BatchEngine,
) -> RunSummary:
    started = time.perf_counter()
    n_done = n_parsed = tokens = 0
    failure: str | None = None
    wanted = {s.key for s in todo}
    by_key = {s.key: s for s in todo}
    try:
        if on_progress is not None:
            on_progress(0, len(todo))
        batches = iter(engine(todo, size))
        while True:
            try:
                batch = next(batches, None)
            except LLMError as exc:
                failure = str(exc)
                left = len(todo) - n_done
                raise _with_context(
                    exc,
                    f"{exc} (the run stopped: {n_done + n_skipped} finished session(s) are kept "
                    f"in {out_path}; re-run the same command to retry the {left} left)",
                ) from exc
            if batch is None:
                break
            predictions = [
                _untitled_left_out(p, by_key.get(p.key)) for p in _new_only(batch, wanted)
            ]
            append_jsonl_rows(out_path, [prediction_to_json(p) for p in predictions])
            n_done += len(predictions)
            n_parsed += sum(p.parsed for p in predictions)
            tokens += sum(p.tokens for p in predictions)
            if on_progress is not None:
                on_progress(n_done, len(todo))
    except BaseException as exc:
        failure = failure or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        elapsed = time.perf_counter() - started
        summary = RunSummary(
            n_done=n_done,
            n_skipped=n_skipped,
            n_parsed=n_parsed,
            elapsed=round(elapsed, 3),
            sessions_per_min=round(60.0 * n_done / elapsed, 3) if elapsed > 0 else 0.0,
            tokens=tokens,
            warnings=tuple(warnings),
        )
        try:
            write_manifest(
                manifest,
                out_path,
                summary,
                complete=failure is None,
                batch_size=size,
                failure=failure,
            )
        except BundleKDError:
            if failure is None:
                raise
            # never let a manifest problem hide the error that interrupted the run
            logger.exception("%s: could not write the manifest of an interrupted run", out_path)
    return summary


def _untitled_left_out(prediction: Prediction, session: Session | None) -> Prediction:
    """An item without a title (empty or whitespace) says nothing to bundle it by: it is
    left out of the predicted bundles, and a bundle left with fewer than 2 items is dropped
    (`generate` warns about such items before the first batch, as `data validate` does)."""
    if session is None:
        return prediction
    untitled = {item.item_id for item in session.items if not item.title.strip()}
    if not untitled or not any(set(b.items) & untitled for b in prediction.bundles):
        return prediction
    kept = []
    for bundle in prediction.bundles:
        items = tuple(i for i in bundle.items if i not in untitled)
        if len(items) >= 2:
            kept.append(bundle.model_copy(update={"items": items}))
    note = f"untitled item(s) left out of bundles: {sorted(untitled)[:5]}"
    return prediction.model_copy(
        update={"bundles": tuple(kept), "errors": (*prediction.errors, note)}
    )


def _new_only(batch: Sequence[Prediction], wanted: set[tuple[str, str]]) -> list[Prediction]:
    """The predictions of `batch` still wanted (each key is then no longer wanted)."""
    fresh = []
    for prediction in batch:
        if prediction.key not in wanted:
            logger.warning(
                "dropping a prediction for %s/%s: already written in this run or not asked for",
                *prediction.key,
            )
            continue
        wanted.discard(prediction.key)
        fresh.append(prediction)
    return fresh


def _with_context(exc: LLMError, message: str) -> LLMError:
    """The same kind of error with a message that says what was kept and how to go on."""
    try:
        return type(exc)(message)
    except TypeError:  # a subclass with another signature
        return LLMError(message)


__all__ = [
    "BatchEngine",
    "ProgressCallback",
    "RunSummary",
    "check_out",
    "lock_path",
    "manifest_path",
    "out_lock",
    "run_batch",
]
