"""Atomic writes of results: bytes, text, JSON and torch checkpoints, through :func:`masks.atomic.atomic_write`.

An interrupted process leaves either the old file or the new one, never half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from masks.atomic import atomic_write


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` atomically."""
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Write text (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write an object as indented JSON atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` atomically."""
    atomic_write(path, lambda handle: torch.save(obj, handle))


@contextlib.contextmanager
def run_lock(folder: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the run folder's lock: two processes (shards, or two commands on one --out) never train one run at once.

    An advisory ``flock`` on ``folder/.lock``: the kernel releases it when the holder exits, even when
    it is killed, so a stale lock never blocks a resume. When another process holds it, ``on_wait``
    is called once and this one waits; afterwards the caller finds the run finished and reuses it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
