"""Statistics over seeds: mean, sample std and the paired t interval of a difference."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0 for a single value)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else 0.0


@dataclass(frozen=True)
class PairedDifference:
    """Mean difference of paired values with its 95% t interval (None when n < 2)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def paired_difference(values: Sequence[float], baseline: Sequence[float], confidence: float = 0.95) -> PairedDifference:
    """Differences ``values[i] - baseline[i]`` (paired by seed): mean and t interval over the pairs."""
    d = np.asarray(values, dtype=float) - np.asarray(baseline, dtype=float)
    n = d.size
    if n == 0:
        return PairedDifference(math.nan, None, None, 0)
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(mean, None, None, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return PairedDifference(mean, mean - half, mean + half, n)
