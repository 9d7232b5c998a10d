"""What made a record: library versions, the git commit of adios when it runs from a checkout, threads and device."""

from __future__ import annotations

import functools
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

#: The distributions whose versions can change a run's numbers.
LIBRARIES = {
    "adios": "adios-bench",
    "torch": "torch",
    "torchvision": "torchvision",
    "kornia": "kornia",
    "scikit-learn": "scikit-learn",
}


@functools.cache
def versions() -> dict[str, str]:
    """Installed versions of adios and the libraries it computes with."""
    found = {}
    for label, dist in LIBRARIES.items():
        try:
            found[label] = version(dist)
        except PackageNotFoundError:
            found[label] = "?"
    return found


@functools.cache
def git_commit() -> str | None:
    """The commit of the adios checkout that runs, with ``+dirty`` for uncommitted changes; None outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def threads() -> int:
    """torch's intra-op threads: the count changes float rounding, so it is part of a run's provenance."""
    return torch.get_num_threads()
