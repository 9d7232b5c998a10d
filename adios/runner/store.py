"""Atomic writes of results: bytes, text, JSON and torch checkpoints, through :func:`masks.atomic.atomic_write`.

An interrupted process leaves either the old file or the new one, never half a file.
"""

from __future__ import annotations

import json
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
