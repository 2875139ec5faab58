"""File helpers: atomic writes, JSON/JSONL, canonical hashing. No domain knowledge."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bundlekd.errors import DataError, WriteError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; on success it replaces `path` atomically.

    Readers see the old file or the new one, never half of one: the caller writes the temp
    file (any writer: text, `np.save`, `faiss.write_index`), then it is fsynced and renamed
    over `path` with `os.replace`. On an exception the temp file is removed and `path` is left
    as it was.

    Example:
        >>> with atomic_path(tmp_dir / "vectors.npy") as tmp:  # doctest: +SKIP
        ...     with tmp.open("wb") as handle:
        ...         np.save(handle, array)
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"{path}: is a directory, cannot write a file there")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {_os_reason(exc, path)}") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the data reaches the disk before the rename makes it visible
        finally:
            os.close(fd)
        # mkstemp makes the file 0600; the result gets the mode a plain open() would give it
        # (the old file's, else 0666 less the umask), so a shared KB or report stays readable
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"{path}: cannot write: {_os_reason(exc)}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it (os.umask sets it, racing other threads)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _os_reason(exc: OSError, path: Path | None = None) -> str:
    """`Read-only file system`, ... (the OS's words, without the path), or which ancestor of
    `path` is a file (mkdir only says "File exists" or "Not a directory")."""
    if path is not None:
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    return f"Not a directory: {parent} is a file"
                break
    return exc.strerror or str(exc)


def check_writable(path: str | Path) -> None:
    """Fail early, writing nothing, when `path` could not be created or appended to.

    Creates missing parent folders (as the writers would), then probes with a temporary file
    beside `path` (or opens an existing `path` for appending), so a read-only filesystem, a
    parent that is a file, or a folder in place of the file is found before any work starts.

    Raises:
        WriteError: naming the path and the OS's reason.
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"{path}: is a directory, expected a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("ab"):
                pass
        else:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {_os_reason(exc, path)}") from exc


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` so readers see the old or the new file, never half of one."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """`atomic_write_text` for bytes (npz caches and other binary payloads)."""
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        handle.write(data)


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def check_input_file(path: str | Path) -> Path:
    """`path` as a Path when it is a readable file; DataError naming what it is otherwise."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a file")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    return path


def decode_utf8(data: bytes, where: str) -> str:
    """`data` as UTF-8 text; DataError naming `where` and the byte offset otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
            "save the file as UTF-8"
        ) from None


def parse_json(text: str | bytes, where: str) -> Any:
    """`json.loads` whose failures (bad JSON, nesting deeper than Python can recurse) become a
    DataError naming `where`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: invalid JSON: {exc.msg}") from exc
    except RecursionError:
        raise DataError(f"{where}: JSON nested too deeply to read") from None


def read_json(path: str | Path) -> Any:
    path = check_input_file(path)
    text = decode_utf8(path.read_bytes(), str(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply to read") from None


def iter_text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) per line of a UTF-8 file; a line that is not UTF-8 is a DataError
    naming ``file:line``."""
    path = check_input_file(path)
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            yield line_no, decode_utf8(raw, f"{path}:{line_no}")


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) per non-blank line; a bad line raises DataError naming it."""
    for line_no, line in iter_text_lines(path):
        if not line.strip():
            continue
        obj = parse_json(line, f"{path}:{line_no}")
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__}")
        yield line_no, obj


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write all rows at once, atomically."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    atomic_write_text(path, text)


def append_jsonl(path: str | Path, row: dict[str, Any]) -> None:
    """Append one row and fsync, so an interrupted run keeps every finished line."""
    append_jsonl_rows(path, [row])


def append_jsonl_rows(path: str | Path, rows: Sequence[dict[str, Any]]) -> None:
    """Append rows with one fsync (a batch: an fsync costs ~3 ms, more than the grouping tool
    spends on a session). A crash inside the write can leave a cut last line, which readers
    of resumable logs drop."""
    path = Path(path)
    if not rows:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise WriteError(f"{path}: cannot append: {_os_reason(exc, path)}") from exc


def canonical_hash(obj: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of `obj` (sorted keys, no whitespace)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
