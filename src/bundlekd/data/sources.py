"""Where sessions come from: the shipped sample, the AICL split, or a sessions JSONL file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from bundlekd.data.aicl import check_domains, load_aicl
from bundlekd.data.schema import Dataset, Session
from bundlekd.data.sessions_jsonl import read_sessions
from bundlekd.errors import DataError

DATA_DIR_ENV = "BUNDLEKD_DATA_DIR"
SAMPLE_PACKAGE = "bundlekd.sample_data"
SAMPLE_FILE = "sessions.jsonl"
SPLITS: tuple[str, ...] = ("train", "val", "test", "all")
NAMED_SOURCES: tuple[str, ...] = ("sample", "aicl")


def data_dir_from_env() -> Path | None:
    """The real-data folder from ``$BUNDLEKD_DATA_DIR``, or None when unset or empty."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """`data_dir`, else ``$BUNDLEKD_DATA_DIR``; a DataError says how to set it when neither is."""
    chosen = Path(data_dir).expanduser() if data_dir else data_dir_from_env()
    if chosen is None:
        raise DataError(f"no data directory: pass --data-dir or set {DATA_DIR_ENV}")
    if not chosen.is_dir():
        raise DataError(f"{chosen}: data directory not found (from --data-dir or {DATA_DIR_ENV})")
    return chosen


def load_sample() -> Dataset:
    """The small sample dataset shipped in the package (``bundlekd/sample_data/sessions.jsonl``)."""
    resource = resources.files(SAMPLE_PACKAGE).joinpath(SAMPLE_FILE)
    if not resource.is_file():
        raise DataError(f"package data {SAMPLE_PACKAGE}/{SAMPLE_FILE} is missing (broken install?)")
    with resources.as_file(resource) as path:
        sessions = read_sessions(path)
    return Dataset(name="sample", sessions=tuple(sessions))


def filter_sessions(
    sessions: Sequence[Session], *, domains: Sequence[str] | None, split: str, source: str
) -> list[Session]:
    """Keep sessions of `domains` and `split`; unknown names raise DataError listing valid ones."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: valid choices are {', '.join(SPLITS)}")
    present = sorted({s.domain for s in sessions})
    unknown = [d for d in domains or () if d not in present]
    if unknown:
        raise DataError(
            f"unknown domain(s) {unknown} in {source}: valid choices are {', '.join(present)}"
        )
    return [
        s
        for s in sessions
        if (not domains or s.domain in domains) and (split == "all" or s.split == split)
    ]


def load_sessions(
    source: str,
    *,
    domains: Sequence[str] | None = None,
    split: str = "all",
    data_dir: str | Path | None = None,
) -> list[Session]:
    """Load sessions from a named source or a file.

    Args:
        source: ``"sample"`` (shipped), ``"aicl"`` (the real split under the data dir), or a
            path to a sessions ``.jsonl`` file.
        domains: Keep only these domains (all when None).
        split: ``train``, ``val``, ``test`` or ``all``.
        data_dir: Real-data folder for ``aicl``; defaults to ``$BUNDLEKD_DATA_DIR``.

    Raises:
        DataError: Unknown source, domain or split (listing the valid choices), missing data dir.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: valid choices are {', '.join(SPLITS)}")
    if source == "sample":
        sessions: Sequence[Session] = load_sample().sessions
    elif source == "aicl":
        chosen = check_domains(domains)
        sessions = load_aicl(resolve_data_dir(data_dir), chosen).sessions
    elif Path(source).is_dir():
        raise DataError(
            f"{source}: is a directory; expected a sessions .jsonl file, or one of "
            f"{', '.join(NAMED_SOURCES)} (the real data folder goes in --data-dir)"
        )
    elif source.endswith(".jsonl") or Path(source).is_file():
        sessions = read_sessions(source)
    else:
        raise DataError(
            f"unknown source {source!r}: valid choices are {', '.join(NAMED_SOURCES)} "
            "or a path to a sessions .jsonl file"
        )
    return filter_sessions(sessions, domains=domains, split=split, source=source)
