"""Fixtures shared by the probe and metric tests: separable toy features and a brute-force pair count."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

PairCounts = Callable[[np.ndarray, np.ndarray], tuple[int, int, int, int]]


@pytest.fixture
def separable() -> tuple[np.ndarray, np.ndarray]:
    """300 points in 16-d: 5 well-separated Gaussian classes of 60, shuffled."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16)) * 5
    y = np.repeat(np.arange(5), 60)
    x = centres[y] + rng.normal(size=(300, 16))
    order = rng.permutation(300)
    return x[order], y[order]


def _pair_counts(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int]:
    """Pairs together in both, in a only, in b only, in neither (brute force over all pairs)."""
    both = only_a = only_b = neither = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        same_a, same_b = a[i] == a[j], b[i] == b[j]
        both += same_a and same_b
        only_a += same_a and not same_b
        only_b += same_b and not same_a
        neither += not (same_a or same_b)
    return both, only_a, only_b, neither


@pytest.fixture
def pair_counts() -> PairCounts:
    """The brute-force pair count, the reference for ARI and FMI (Hubert & Arabie 1985)."""
    return _pair_counts
