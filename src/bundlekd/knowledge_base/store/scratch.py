"""Scratch copies of a KB, kept inside it (`.scratch/`) so none outlives its writer.

A prune or a tool fit works on a copy of the KB and commits only what it decides. The copy lives
under the KB folder, never in the system temp folder: the writer holds the KB's lock for as long
as the copy exists, so whatever is found in `.scratch/` when the lock is taken was left by a
writer that was killed, and the next writer deletes it (`clean`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

SCRATCH_DIR = ".scratch"
#: Never copied: history and snapshots belong to the real KB, the lock to its writer.
NOT_COPIED = ("snapshots", SCRATCH_DIR, ".lock", ".lock.owner", "*.corrupt-*")


def clean(kb_dir: Path) -> int:
    """Delete scratch copies left by killed writers (call with the KB's lock held)."""
    root = kb_dir / SCRATCH_DIR
    if not root.is_dir():
        return 0
    left = list(root.iterdir())
    for path in left:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        root.rmdir()
    if left:
        logger.warning("%s: removed %d scratch cop(ies) left by a killed writer", kb_dir, len(left))
    return len(left)


@contextlib.contextmanager
def scratch_copy(kb_dir: Path, name: str) -> Iterator[Path]:
    """A writable copy of the KB (without snapshots) at `.scratch/<name>-<pid>`, removed on exit.

    Call with the KB's lock held. Files are copied without their modes, so a KB whose files
    are read-only to its writer still gives a copy that can be written.
    """
    copy = kb_dir / SCRATCH_DIR / f"{name}-{os.getpid()}"
    if copy.exists():
        shutil.rmtree(copy)
    try:
        shutil.copytree(
            kb_dir,
            copy,
            ignore=shutil.ignore_patterns(*NOT_COPIED),
            copy_function=shutil.copyfile,
        )
        for folder, _, _ in os.walk(copy):  # copytree copies the folders' modes
            os.chmod(folder, os.stat(folder).st_mode | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR)
        yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        with contextlib.suppress(OSError):
            (kb_dir / SCRATCH_DIR).rmdir()
