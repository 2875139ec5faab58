"""Title cleaning that mirrors the AICL split's `training_set` / `test_set` prompt text.

The AICL authors shortened raw Amazon titles before joining them with ``|``. Reverse-engineered
from the 15,346 train/test title slots (see tests/data/test_titles_real.py), their steps are, in
this order: drop ``&quot;`` and ``&amp;`` (other entities such as ``&reg;`` stay), drop
parentheticals ``(...)`` (non-greedy, so nested ones leave a tail), turn ``" ,"`` into ``","`` and
``". "`` into ``"."``, then replace each pair of spaces by one (a single non-overlapping pass, so
three spaces become two). A few hand edits around ``|`` cannot be reproduced; we replace ``|``
(and the spaces around it) with one space instead, because ``|`` separates the titles in the
AICL prompt format.
"""

from __future__ import annotations

import re

from bundlekd.errors import DataError

_PARENTHETICAL = re.compile(r"\(.*?\)")
_PIPE = re.compile(r"\s*\|\s*")
_REMOVED_ENTITIES = ("&quot;", "&amp;")

TITLE_SEPARATOR = "|"


def clean_title(raw: str) -> str:
    """Clean a raw Amazon title the way the AICL split did (see the module docstring)."""
    text = raw
    for entity in _REMOVED_ENTITIES:
        text = text.replace(entity, "")
    text = _PIPE.sub(" ", text)
    text = _PARENTHETICAL.sub("", text)
    text = text.replace(" ,", ",").replace(". ", ".")
    return text.replace("  ", " ")


def split_session_titles(text: str, n_items: int, *, where: str = "") -> list[str]:
    """Split an AICL ``"t1|t2|..."`` string into one title per item.

    Raises:
        DataError: When the number of parts differs from the number of items.
    """
    parts = text.split(TITLE_SEPARATOR)
    if len(parts) != n_items:
        prefix = f"{where}: " if where else ""
        raise DataError(
            f"{prefix}expected {n_items} '|'-separated titles (one per item), found {len(parts)}"
        )
    return parts
