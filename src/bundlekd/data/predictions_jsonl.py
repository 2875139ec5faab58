"""Predictions JSONL (DESIGN.md §5), written line by line so an interrupted run can resume.

An interrupted run can leave a half-written last line. Reading tolerates exactly that (a warning,
the line is ignored); a malformed line anywhere else is a DataError. Appending first cuts such a
partial tail off, so the next line does not glue onto it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bundlekd.data.schema import Prediction
from bundlekd.data.sessions_jsonl import parse_record
from bundlekd.errors import DataError
from bundlekd.files import append_jsonl, check_input_file, iter_text_lines, write_jsonl

logger = logging.getLogger(__name__)


def prediction_to_json(prediction: Prediction) -> dict[str, Any]:
    return prediction.model_dump(mode="json")


def read_predictions(path: str | Path) -> list[Prediction]:
    """Read a predictions file, ignoring (with a warning) a truncated last line.

    Raises:
        DataError: Missing file (or a folder), text that is not UTF-8, a malformed line that is
            not the last one, or a line that is valid JSON but not a valid prediction (naming
            ``file:line`` and the field).
    """
    path = check_input_file(path)
    # Split on "\n" only: str.splitlines() would also split inside raw model text that holds
    # U+2028 or other Unicode line breaks (json.dumps writes them unescaped).
    lines = [(n, line) for n, line in iter_text_lines(path) if line.strip()]
    predictions = []
    for index, (line_no, line) in enumerate(lines):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if index == len(lines) - 1:
                logger.warning(
                    "%s:%d: ignoring a truncated last line (interrupted run?): %s",
                    path,
                    line_no,
                    exc.msg,
                )
                break
            raise DataError(f"{path}:{line_no}: invalid JSON: {exc.msg}") from exc
        except RecursionError:
            raise DataError(f"{path}:{line_no}: JSON nested too deeply to read") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__}")
        predictions.append(parse_record(Prediction, obj, f"{path}:{line_no}"))
    return predictions


def write_predictions(path: str | Path, predictions: Iterable[Prediction]) -> int:
    """Write all predictions atomically; returns how many were written."""
    rows = [prediction_to_json(p) for p in predictions]
    write_jsonl(path, rows)
    return len(rows)


def append_prediction(path: str | Path, prediction: Prediction) -> None:
    """Append one prediction (fsynced), first dropping a partial last line if there is one."""
    path = Path(path)
    drop_partial_tail(path)
    append_jsonl(path, prediction_to_json(prediction))


def drop_partial_tail(path: str | Path) -> bool:
    """Repair the end of a file an interrupted write left without its final newline.

    A tail that parses as JSON only lacked the newline, which is added; anything else is a
    half-written line and is cut off. Returns True if the tail was cut.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return False
    keep = data.rfind(b"\n") + 1
    try:
        json.loads(data[keep:])
    except (ValueError, RecursionError):
        pass
    else:
        with path.open("ab") as handle:
            handle.write(b"\n")
        return False
    logger.warning("%s: dropping a partial last line of %d bytes", path, len(data) - keep)
    with path.open("r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def finished_keys(path: str | Path) -> set[tuple[str, str]]:
    """(domain, session_id) of every prediction already in `path`; empty if it does not exist."""
    path = Path(path)
    if not path.exists():
        return set()
    return {prediction.key for prediction in read_predictions(path)}
