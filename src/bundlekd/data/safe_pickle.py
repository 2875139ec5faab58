"""Read the AICL ``.npy`` files without running arbitrary pickle code.

Each file is a 0-d object array whose payload is a pickled ``ndarray`` holding one dict.
``np.load(allow_pickle=True)`` would execute any global the pickle names (``os.system`` ...), so we
parse the ``.npy`` header ourselves and unpickle the payload with an `Unpickler` whose
``find_class`` admits only numpy's array-reconstruction globals and plain builtin containers.

The work is bounded by the file's size, so a small hostile file cannot exhaust memory or the
stack: the admitted callables refuse to build more elements than the file could describe
(``bytes(10**10)``, a shared list copied a million times, a huge empty array), and walking the
result (`to_json_like`) stops at `MAX_DEPTH` levels and at a node budget, so lists that share
or contain each other (a few bytes of memo references that expand exponentially, or a cycle)
are a DataError. The real AICL files are 3 levels deep and hold < 0.4 nodes per byte.
"""

from __future__ import annotations

import io
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bundlekd.errors import DataError

#: Deepest nesting `to_json_like` follows (the AICL files nest 3 deep).
MAX_DEPTH = 64
#: Elements (or nodes) a file may describe: a small floor, plus this many per byte of file.
_PER_BYTE = 4
_FLOOR = 100_000

# (module, name) pairs a pickled numpy object array may legitimately reference.
_NUMPY_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)
_BUILTIN_GLOBALS = frozenset(
    {"dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool", "complex"}
)


def work_budget(size_bytes: int) -> int:
    """Elements (or nodes) a file of `size_bytes` may produce."""
    return _FLOOR + _PER_BYTE * size_bytes


class _RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that refuses every global outside the allow-list and bounds what the
    admitted callables build (see the module docstring)."""

    def __init__(self, file: io.BufferedIOBase, source: Path, budget: int) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source
        self._budget = budget

    def _spend(self, elements: int, what: str) -> None:
        self._budget -= elements
        if self._budget < 0:
            raise DataError(
                f"{self._source}: the pickle builds more than its size allows ({what}); "
                "refusing a file that would exhaust memory"
            )

    def find_class(self, module: str, name: str) -> Any:
        import numpy as np

        if (module, name) in _NUMPY_GLOBALS:
            if name == "_reconstruct":
                return self._bounded_reconstruct
            if name == "scalar":
                return self._bounded_scalar
            return getattr(np, name)
        if module == "builtins" and name in _BUILTIN_GLOBALS:
            return self._bounded_builtin(super().find_class(module, name))
        raise DataError(
            f"{self._source}: refuses global {module}.{name}: only numpy array "
            "reconstruction and builtin containers may appear in an AICL .npy pickle"
        )

    def _bounded_reconstruct(self, subtype: Any, shape: Any, dtype: Any) -> Any:
        # numpy pickles call this with shape (0,) and fill the array in __setstate__.
        size = math.prod(shape) if isinstance(shape, tuple) else shape
        if not isinstance(size, int) or size < 0:
            raise DataError(f"{self._source}: bad array shape {shape!r} in the pickle")
        self._spend(size, f"an empty array of shape {shape!r}")
        return _numpy_multiarray()._reconstruct(subtype, shape, dtype)

    def _bounded_scalar(self, dtype: Any, *args: Any) -> Any:
        self._spend(int(getattr(dtype, "itemsize", 0)), f"a scalar of dtype {dtype!r}")
        return _numpy_multiarray().scalar(dtype, *args)

    def _bounded_builtin(self, factory: Callable[..., Any]) -> Callable[..., Any]:
        def build(*args: Any) -> Any:
            if args and isinstance(args[0], int) and factory in (bytes, bytearray):
                self._spend(args[0], f"{factory.__name__}({args[0]})")
            elif args and hasattr(args[0], "__len__"):
                self._spend(len(args[0]), f"{factory.__name__} of {len(args[0])} elements")
            return factory(*args)

        return build


def _numpy_multiarray() -> Any:
    # numpy 2 moved numpy.core to numpy._core; the old path still works but warns.
    try:
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


def load_npy_object(path: str | Path) -> Any:
    """Load an object ``.npy`` file safely and return its content.

    Args:
        path: A ``.npy`` file written by ``np.save`` of a pickled object (e.g. a dict).

    Returns:
        ``array.item()`` for a 0-d array (the AICL dicts), else the array itself.

    Raises:
        DataError: When the file is missing, not an ``.npy`` file, or its pickle names a global
            outside the allow-list.
    """
    from numpy.lib import format as npy_format

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as handle:
        try:
            version = npy_format.read_magic(handle)
            if version == (1, 0):
                shape, _fortran, dtype = npy_format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _fortran, dtype = npy_format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except ValueError as exc:
            raise DataError(f"{path}: not a valid .npy file: {exc}") from exc
        if not dtype.hasobject:
            raise DataError(
                f"{path}: expected an object array (pickled payload), got dtype {dtype}"
            )
        try:
            array = _RestrictedUnpickler(handle, path, work_budget(path.stat().st_size)).load()
        except DataError:
            raise
        except Exception as exc:  # pickle raises many types on corrupt input
            raise DataError(f"{path}: cannot unpickle the .npy payload: {exc}") from exc
    if getattr(array, "shape", None) != shape:
        raise DataError(f"{path}: payload shape {getattr(array, 'shape', None)} != header {shape}")
    return array.item() if shape == () else array


def to_json_like(obj: Any, *, max_nodes: int = _FLOOR, source: str = "object") -> Any:
    """Convert a loaded AICL object to what its ``.json`` twin holds.

    Dict keys become strings, tuples become lists and numpy scalars become Python scalars, so
    one code path can consume either file.

    Raises:
        DataError: nesting deeper than `MAX_DEPTH` (or a cycle), or more than `max_nodes`
            nodes (lists that share each other expand exponentially).
    """
    budget = [max_nodes]

    def convert(value: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise DataError(
                f"{source}: holds more than {max_nodes} values once shared lists are expanded; "
                "refusing it"
            )
        if depth > MAX_DEPTH:
            raise DataError(f"{source}: nested deeper than {MAX_DEPTH} levels (or a cycle)")
        if isinstance(value, dict):
            return {str(key): convert(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [convert(item, depth + 1) for item in value]
        if hasattr(value, "item") and hasattr(value, "dtype"):
            return value.item()
        return value

    return convert(obj, 0)


def load_npy_as_json(path: str | Path) -> Any:
    """`load_npy_object` followed by `to_json_like`, both bounded by the file's size."""
    path = Path(path)
    obj = load_npy_object(path)
    return to_json_like(obj, max_nodes=work_budget(path.stat().st_size), source=str(path))
