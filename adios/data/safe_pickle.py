"""Unpickling CIFAR batches without running code from the data file.

The CIFAR "python version" files are pickles: dicts of bytes keys, lists, bytes and numpy arrays.
A pickle can name any importable callable, so :class:`CifarUnpickler` resolves only the names that
format needs (builtin containers and scalars, numpy's array, dtype and scalar reconstruction under
their numpy 1 and numpy 2 module names) and refuses every other one with a :class:`UserError`.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from adios.errors import UserError

_ARRAY = np.zeros(1, dtype=np.uint8)
_RECONSTRUCT = _ARRAY.__reduce__()[0]  # numpy's own functions, whatever module numpy keeps them in
_FROMBUFFER = _ARRAY.__reduce_ex__(5)[0]  # protocol 5 pickles of arrays
_SCALAR = np.int64(0).__reduce__()[0]

_BUILTINS = {cls.__name__: cls for cls in (list, dict, tuple, set, frozenset, bytes, bytearray, str, int, float, complex, bool)}

ALLOWED: dict[tuple[str, str], Any] = {
    **{(module, name): obj for module in ("builtins", "__builtin__") for name, obj in _BUILTINS.items()},
    **{(f"numpy.{core}.multiarray", "_reconstruct"): _RECONSTRUCT for core in ("core", "_core")},
    **{(f"numpy.{core}.multiarray", "scalar"): _SCALAR for core in ("core", "_core")},
    **{(f"numpy.{core}.numeric", "_frombuffer"): _FROMBUFFER for core in ("core", "_core")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes at protocol 2
}


class CifarUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only the names in :data:`ALLOWED`."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="bytes")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UserError(
                f"{self.path} is not a CIFAR batch: it asks to load {module}.{name}; refusing to run code from a data file"
            ) from None


def load_cifar_batch(path: Path) -> dict:
    """The dict stored in one CIFAR batch file, unpickled by :class:`CifarUnpickler`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing file {path}: the dataset folder is incomplete; extract the archive again")
    try:
        with open(path, "rb") as handle:
            batch = CifarUnpickler(handle, path).load()
    except UserError:
        raise
    except Exception as error:
        raise UserError(f"cannot read {path} ({type(error).__name__}): the file is corrupt; extract the archive again") from None
    if not isinstance(batch, dict):
        raise UserError(f"{path} is not a CIFAR batch (it holds a {type(batch).__name__}, not a dict); extract the archive again")
    return batch
