"""Atomic file writes: write a temporary file beside the target, then rename it over the target.

An interrupted process leaves either the old file or the new one, never half a file. The results
store, the gallery and cached strategy statistics (the SIFT codebook) all write through here.
"""

from __future__ import annotations

import os
import signal
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


_writes = 0


def _crash_point(path: Path) -> None:
    """Fault injection for the crash tests: ``ADIOS_CRASH_AT_WRITE=N`` kills the process (SIGKILL) at its N-th
    atomic write, after the temporary file is complete and before the rename. Unset, it does nothing."""
    global _writes
    target = os.environ.get("ADIOS_CRASH_AT_WRITE")
    if target is None:
        return
    _writes += 1
    if _writes == int(target):
        os.kill(os.getpid(), signal.SIGKILL)


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
        _crash_point(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
