"""Atomic file writes: write a temporary file beside the target, then rename it over the target.

An interrupted process leaves either the old file or the new one, never half a file. The results
store, the gallery and cached strategy statistics (the SIFT codebook) all write through here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Files get the permissions a plain ``open(path, "w")`` would give (mkstemp alone makes them 0600).
FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a binary handle to a temporary file beside ``path``, sync it, then rename it over ``path``.

    The file gets the umask's permissions, as a plain write would, so colleagues can read shared results.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
