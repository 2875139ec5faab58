"""`generate --engine ray`: the agent runs on the workers of a Ray cluster, through Ray Data.

The driver (this process) keeps every job the local engine has (`bundlekd.agent.runner`): it
picks the sessions still to do, holds the predictions file's lock, appends each line and writes
the manifest. Ray Data only moves the work:
- the sessions to do become a dataset of JSON rows (`from_items`);
- `map_batches` runs `AgentWorker`, a callable class, on a fixed pool of actors; each actor
  builds the grouping tool, KB and agent (and its LLM client) once, from the configuration;
- the driver streams finished batches back (`iter_batches`) and appends them as they arrive.

Faults: Ray Data's actor defaults restart a worker that dies and retry its batch; the runner
drops a prediction it already wrote in this run, so a retry cannot duplicate a line. If the
driver itself dies, the lines already appended stay and a re-run skips them (0 lost, 0
duplicated, as with the local engine).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd.errors import BundleKDError, ConfigError, EngineError

if TYPE_CHECKING:
    from bundlekd.agent.runner import BatchEngine
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Prediction, Session

logger = logging.getLogger(__name__)

INSTALL_HINT = "the ray engine needs Ray Data: pip install 'bundlekd[scale]'"


@dataclass(frozen=True, slots=True)
class RayOptions:
    """Where and how wide a run fans out.

    Attributes:
        address: The cluster (`HOST:PORT` of a `ray start --head`, or `auto`); None: the
            `RAY_ADDRESS` environment variable, else a one-machine Ray started for this run.
        workers: Agent actors (each holds one agent); None: the cluster's CPUs divided by
            `cpus_per_worker`.
        cpus_per_worker: CPUs Ray reserves for each actor (torch in it uses as many threads).
    """

    address: str | None = None
    workers: int | None = None
    cpus_per_worker: float = 1.0

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.cpus_per_worker <= 0:
            raise ConfigError(f"CPUs per worker must be positive, got {self.cpus_per_worker}")


class AgentWorker:
    """One Ray actor: builds the agent once, then predicts batches of JSON sessions.

    Args:
        config: The run's `ProjectConfig`, as JSON (so the actor validates it like the CLI).
        train: Training sessions as JSON (worked examples), only when the mode uses them.
    """

    def __init__(self, config: dict[str, Any], train: list[str]) -> None:
        from bundlekd.app.components import build_agent, build_llm, open_kb
        from bundlekd.config import ProjectConfig
        from bundlekd.data.schema import Session

        cfg = ProjectConfig.model_validate(config)
        generation = cfg.generation
        kb = (
            open_kb(cfg.kb, cfg.embedder)
            if generation.uses_knowledge or generation.uses_tool
            else None
        )
        self.llm = build_llm(cfg.student, batch_size=generation.batch_size)
        train_sessions = [Session.model_validate_json(text) for text in train]
        self.agent = build_agent(cfg, self.llm, train_sessions=train_sessions, kb=kb)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        """`{"prediction": [JSON...], "error": ["", ...]}`; one of our errors (e.g. an
        `LLMError`: the server is down) comes back as one row `error: "Type: message"` (Ray
        would carry the exception home without its type), so the driver raises it as itself."""
        from bundlekd.data.schema import Session

        sessions = [Session.model_validate_json(str(text)) for text in batch["session"]]
        try:
            predictions = self.agent.generate(sessions)
        except BundleKDError as exc:
            return {"prediction": [""], "error": [f"{type(exc).__name__}: {exc}"]}
        return {
            "prediction": [p.model_dump_json() for p in predictions],
            "error": [""] * len(predictions),
        }


def ray_engine(config: ProjectConfig, train: Sequence[Session], options: RayOptions) -> BatchEngine:
    """A `BatchEngine` for `run_batch` that runs the configured agent on a Ray cluster.

    Raises:
        ConfigError: Ray Data is not installed (at once; the rest while iterating).
        EngineError: the cluster cannot be reached, or a batch failed on a worker for a reason
            that is not one of ours (ours, such as `LLMError`, come back as themselves).
    """
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"{INSTALL_HINT} ({exc})") from None
    uses_examples = config.generation.uses_examples
    train_json = [s.model_dump_json() for s in train] if uses_examples else []
    if config.kb.dir is not None:  # workers do not run in the driver's folder
        kb = config.kb.model_copy(update={"dir": Path(config.kb.dir).resolve()})
        config = config.model_copy(update={"kb": kb})
    config_json = config.model_dump(mode="json")

    def run(todo: Sequence[Session], size: int) -> Iterator[Sequence[Prediction]]:
        yield from _stream(config_json, train_json, options, todo, size)

    return run


def _stream(
    config: dict[str, Any],
    train: list[str],
    options: RayOptions,
    todo: Sequence[Session],
    size: int,
) -> Iterator[list[Prediction]]:
    import ray

    from bundlekd.data.schema import Prediction

    if not todo:
        return
    started_here = not ray.is_initialized()
    if started_here:
        _connect(options.address)
    batches: Iterator[Any] | None = None
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the CLI draws its own
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-dataset INFO lines
        workers = options.workers or _default_workers(options.cpus_per_worker)
        rows = [{"session": s.model_dump_json()} for s in todo]
        # One block per batch: the driver sees (and writes) each batch as soon as it is done.
        blocks = max(1, -(-len(rows) // size))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            AgentWorker,
            fn_constructor_kwargs={"config": config, "train": train},
            batch_size=size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=options.cpus_per_worker,
        )
        logger.info("ray: %d sessions, %d worker(s), batches of %d", len(rows), workers, size)
        batches = iter(dataset.iter_batches(batch_size=None, batch_format="numpy"))
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:
                raise _our_error(exc) from exc
            if batch is None:
                return
            failed = [str(text) for text in batch["error"] if text]
            if failed:
                raise _as_our_error(failed[0])
            yield [Prediction.model_validate_json(str(text)) for text in batch["prediction"]]
    finally:
        close = getattr(batches, "close", None)
        if callable(close):  # stop the dataset's execution before the driver disconnects
            close()
        if started_here:
            ray.shutdown()


def _connect(address: str | None) -> None:
    import ray

    _check_reachable(address or os.environ.get("RAY_ADDRESS"))
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level=logging.WARNING,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "RAY_ADDRESS or a new local instance"
        raise EngineError(f"cannot reach the Ray cluster at {where}: {exc}") from None


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail fast on a HOST:PORT nobody listens on (`ray.init` would retry for minutes)."""
    if not address or address in ("auto", "local") or "://" in address:
        return
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise EngineError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} "
            "(is `ray start --head` running there?)"
        ) from None


def _host_port(address: str) -> tuple[str, int]:
    """`HOST:PORT`, with an IPv6 host in brackets (`[::1]:6379`, as Ray writes it).

    Raises:
        ConfigError: not that form (an unbracketed IPv6 address is ambiguous).
    """
    host, _, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ConfigError(
            f"Ray address {address!r} is not HOST:PORT: write an IPv6 host in brackets, "
            "e.g. [::1]:6379"
        )
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"Ray address {address!r} is not HOST:PORT")
    return host, int(port)


def _default_workers(cpus_per_worker: float) -> int:
    import ray

    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    return max(1, int(cpus // cpus_per_worker))


def _as_our_error(text: str) -> BundleKDError:
    """`"Type: message"` from a worker, raised again as that type of ours (else EngineError)."""
    import bundlekd.errors

    name, _, message = text.partition(": ")
    kind = getattr(bundlekd.errors, name, None)
    if isinstance(kind, type) and issubclass(kind, BundleKDError):
        try:
            return kind(message)
        except TypeError:
            pass
    return EngineError(text)


def _our_error(exc: BaseException) -> BundleKDError:
    """Our own error inside a Ray failure (the same type, its message), else an EngineError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "cause", None)  # RayTaskError: the worker's exception
        if isinstance(cause, BaseException):
            current = cause
            continue
        if isinstance(current, BundleKDError):
            message = str(current) or type(current).__name__
            try:
                return type(current)(message)
            except TypeError:
                return EngineError(message)
        current = current.__cause__
    first = str(exc).strip().splitlines()
    return EngineError(
        f"a batch failed on the Ray cluster ({type(exc).__name__}: "
        f"{first[0] if first else 'no message'}); finished sessions are kept, re-run the same "
        "command to resume"
    )
