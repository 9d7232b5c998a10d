"""Derived seeds: every random stream of a run is a pure function of (seed, purpose, step).

Because no stream depends on how many numbers another stream consumed, every strategy in a
comparison sees the same images, augmentations and batch order for a given seed, and a run
resumed from a checkpoint at step k continues exactly as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import torch


def derive_seed(seed: int, purpose: str, *index: int) -> int:
    """A 63-bit seed for one named stream, e.g. ``derive_seed(0, "views", step)``."""
    text = ":".join([str(seed), purpose, *map(str, index)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def generator(seed: int, purpose: str, *index: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` for one named stream."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, purpose, *index))
    return g


@contextlib.contextmanager
def global_seed(seed: int, purpose: str, *index: int) -> Iterator[None]:
    """Seed torch's global generator inside the block and restore it afterwards.

    For libraries that draw from the global generator only (kornia's augmentation parameters,
    module initialisation).
    """
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(derive_seed(seed, purpose, *index))
        yield
