"""Statistics over seeds: mean, sample std, the paired t interval of a difference, and its power.

The power functions answer "how large a true difference could this many seeds have detected?"
for a two-sided paired t-test: with n pairs whose differences have standard deviation s, a true
mean difference delta gives the statistic a noncentral t distribution with n - 1 degrees of freedom
and noncentrality delta * sqrt(n) / s (Cohen, *Statistical Power Analysis for the Behavioral
Sciences*, 1988, ch. 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


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
    sd: float = math.nan  # standard deviation of the paired differences (NaN when n < 2)

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    @property
    def half_width(self) -> float | None:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    @property
    def detectable(self) -> float:
        """The minimum detectable effect of these seeds (80% power, alpha 0.05), from the observed spread."""
        return minimum_detectable_effect(self.sd, self.n)


def paired_difference(values: Sequence[float], baseline: Sequence[float], confidence: float = 0.95) -> PairedDifference:
    """Differences ``values[i] - baseline[i]`` (paired by seed): mean and t interval over the pairs."""
    d = np.asarray(values, dtype=float) - np.asarray(baseline, dtype=float)
    n = d.size
    if n == 0:
        return PairedDifference(math.nan, None, None, 0)
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(mean, None, None, n)
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return PairedDifference(mean, mean - half, mean + half, n, sd)


def paired_power(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Power of a two-sided paired t-test at level ``alpha`` to detect a true mean difference ``effect``.

    ``sd`` is the standard deviation of the paired differences and ``n`` the number of pairs (>= 2).
    """
    if n < 2:
        return math.nan
    if sd <= 0:
        return 1.0 if effect != 0 else alpha
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    noncentrality = abs(effect) * math.sqrt(n) / sd
    power = float(stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality))
    if math.isnan(power):  # scipy's noncentral t fails far in the tail (1 degree of freedom, large noncentrality)
        power = float(stats.norm.sf(critical - noncentrality) + stats.norm.cdf(-critical - noncentrality))
    return power


def minimum_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true difference that ``n`` paired seeds detect with ``power`` (two-sided paired t at ``alpha``).

    Computed from the observed spread ``sd`` of the paired differences; NaN for fewer than 2 pairs.
    """
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd <= 0:
        return 0.0
    high = sd
    while paired_power(high, sd, n, alpha) < power:
        high *= 2
    return float(optimize.brentq(lambda e: paired_power(e, sd, n, alpha) - power, 0.0, high, xtol=1e-12 * sd))


def seeds_needed(effect: float, sd: float, alpha: float = 0.05, power: float = 0.8, most: int = 100_000) -> int | None:
    """The fewest paired seeds that detect a true difference ``effect`` with ``power``, given the spread ``sd``.

    None when even ``most`` seeds would not do (or the spread is unknown).
    """
    if not math.isfinite(sd) or effect == 0:
        return None
    n = 2
    while paired_power(effect, sd, n, alpha) < power:
        n = n * 2 if n < 64 else n + max(1, n // 8)
        if n > most:
            return None
    low = max(2, n // 2)
    while low < n:  # the power grows with n: bisect for the first n that reaches it
        mid = (low + n) // 2
        if paired_power(effect, sd, mid, alpha) >= power:
            n = mid
        else:
            low = mid + 1
    return n
