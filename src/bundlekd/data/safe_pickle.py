"""Read the AICL ``.npy`` files without running arbitrary pickle code.

Each file is a 0-d object array whose payload is a pickled ``ndarray`` holding one dict.
``np.load(allow_pickle=True)`` would execute any global the pickle names (``os.system`` ...), so we
parse the ``.npy`` header ourselves and unpickle the payload with an `Unpickler` whose
``find_class`` admits only numpy's array-reconstruction globals and plain builtin containers.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from bundlekd.errors import DataError

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


class _RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that refuses every global outside the allow-list."""

    def __init__(self, file: io.BufferedIOBase, source: Path) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        import numpy as np

        if (module, name) in _NUMPY_GLOBALS:
            if name == "_reconstruct":
                return _numpy_multiarray()._reconstruct
            if name == "scalar":
                return _numpy_multiarray().scalar
            return getattr(np, name)
        if module == "builtins" and name in _BUILTIN_GLOBALS:
            return super().find_class(module, name)
        raise DataError(
            f"{self._source}: refuses global {module}.{name}: only numpy array "
            "reconstruction and builtin containers may appear in an AICL .npy pickle"
        )


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
            array = _RestrictedUnpickler(handle, path).load()
        except DataError:
            raise
        except Exception as exc:  # pickle raises many types on corrupt input
            raise DataError(f"{path}: cannot unpickle the .npy payload: {exc}") from exc
    if getattr(array, "shape", None) != shape:
        raise DataError(f"{path}: payload shape {getattr(array, 'shape', None)} != header {shape}")
    return array.item() if shape == () else array


def to_json_like(obj: Any) -> Any:
    """Convert a loaded AICL object to what its ``.json`` twin holds.

    Dict keys become strings, tuples become lists and numpy scalars become Python scalars, so
    one code path can consume either file.
    """
    if isinstance(obj, dict):
        return {str(key): to_json_like(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json_like(value) for value in obj]
    if hasattr(obj, "item") and hasattr(obj, "dtype"):
        return obj.item()
    return obj


def load_npy_as_json(path: str | Path) -> Any:
    """`load_npy_object` followed by `to_json_like`."""
    return to_json_like(load_npy_object(path))
