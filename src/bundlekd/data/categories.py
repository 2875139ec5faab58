"""Parse the raw BundleRec category strings into category paths.

The field looks like ``[[Electronics,Computers & Accessories,Cases & Sleeves]]`` or, for an item
listed under several paths, ``[[a,b],[c,d]]``. Names are unquoted and may themselves contain a
comma followed by a space (``Clothing, Shoes & Jewelry``); the separator is a bare comma. Food has
``[[]]`` for a few items: no category at all.
"""

from __future__ import annotations

import re

from bundlekd.errors import DataError

CategoryPaths = tuple[tuple[str, ...], ...]

# A comma not followed by a space separates names; ", " belongs inside a name.
_NAME_SEPARATOR = re.compile(r",(?! )")


def parse_category_paths(text: str, *, where: str = "") -> CategoryPaths:
    """Parse one raw category field into paths, root first.

    Args:
        text: The raw field, e.g. ``[[Electronics,Accessories & Supplies,Batteries, Chargers]]``.
        where: Location for error messages (``file:line``).

    Returns:
        One tuple of names per path; ``()`` for ``[[]]``.

    Raises:
        DataError: When the field is not wrapped in ``[[...]]`` or holds an empty name.
    """
    prefix = f"{where}: " if where else ""
    stripped = text.strip()
    if not (stripped.startswith("[[") and stripped.endswith("]]")):
        raise DataError(f"{prefix}categories: expected '[[name,name,...]]', got {text[:80]!r}")
    inner = stripped[2:-2]
    if not inner:
        return ()
    paths = []
    for raw_path in inner.split("],["):
        names = tuple(_NAME_SEPARATOR.split(raw_path))
        if any(not name.strip() for name in names):
            raise DataError(f"{prefix}categories: empty category name in {text[:80]!r}")
        paths.append(names)
    return tuple(paths)


def format_category_paths(paths: CategoryPaths) -> str:
    """Inverse of `parse_category_paths` (for fixtures and round-trip checks)."""
    return "[[" + "],[".join(",".join(path) for path in paths) + "]]"


def leaf_categories(paths: CategoryPaths | None) -> list[str]:
    """The most specific name of each path, de-duplicated in order (handy for pattern mining)."""
    seen: dict[str, None] = {}
    for path in paths or ():
        if path:
            seen.setdefault(path[-1], None)
    return list(seen)
