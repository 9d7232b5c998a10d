import math

import numpy as np
import pytest
from scipy import stats

from eval.stats import mean_std, minimum_detectable_effect, paired_difference, paired_power, seeds_needed


def test_mean_std_by_hand():
    mean, std = mean_std([1.0, 2.0, 4.0])
    assert mean == pytest.approx(7 / 3)
    assert std == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert mean_std([0.5]) == (0.5, 0.0)


def test_paired_t_interval_by_hand():
    # differences 0.15, 0.2, 0.25: mean 0.2, sd 0.05, t(0.975, 2) = 4.302653
    d = paired_difference([0.6, 0.7, 0.8], [0.45, 0.5, 0.55])
    half = 4.302653 * 0.05 / math.sqrt(3)
    assert d.mean == pytest.approx(0.2)
    assert d.low == pytest.approx(0.2 - half, rel=1e-5) and d.high == pytest.approx(0.2 + half, rel=1e-5)
    assert d.significant


def test_interval_including_zero_is_not_significant():
    d = paired_difference([0.5, 0.7], [0.6, 0.6])
    assert d.low < 0 < d.high and not d.significant


def test_one_seed_has_no_interval():
    d = paired_difference([0.7], [0.6])
    assert d.mean == pytest.approx(0.1) and d.low is None and not d.significant


# Published reference values (G*Power 3, "t tests - means: difference from constant (one sample case)",
# two-tailed, alpha 0.05; the paired t-test is this test on the differences): effect size d = delta / sd.
@pytest.mark.parametrize(("d", "n", "power"), [(0.5, 34, 0.8077775), (0.5, 33, 0.7953658), (0.8, 15, 0.8213105)])
def test_power_matches_published_tables(d, n, power):
    assert paired_power(d * 0.02, 0.02, n) == pytest.approx(power, abs=1e-6)


def test_seeds_needed_and_mde_agree_with_the_tables():
    assert seeds_needed(0.5, 1.0) == 34 and seeds_needed(0.8, 1.0) == 15  # the smallest n whose power reaches 0.8
    mde = minimum_detectable_effect(1.0, 34)
    assert paired_power(mde, 1.0, 34) == pytest.approx(0.8, abs=1e-9)
    assert 0.48 < mde < 0.5  # 34 seeds reach 0.808 at d = 0.5, so 0.8 needs a slightly smaller d


def test_mde_by_hand_with_five_seeds():
    # n = 5: t(0.975, 4) = 2.776445; the normal-approximation answer (2.776 + 0.941) * sd / sqrt(5) = 1.662 sd
    # is close to, but below, the exact noncentral-t answer, which must give power 0.8 exactly.
    mde = minimum_detectable_effect(0.01, 5)
    assert paired_power(mde, 0.01, 5) == pytest.approx(0.8, abs=1e-9)
    assert 0.0166 < mde < 0.0185
    assert minimum_detectable_effect(0.02, 5) == pytest.approx(2 * mde, rel=1e-6)  # it scales with the spread


def test_power_agrees_with_a_simulation():
    """Simulated paired experiments: the share of significant t-tests is the computed power."""
    rng = np.random.default_rng(0)
    n, sd, effect, trials = 5, 0.01, 0.014, 20_000
    d = rng.normal(effect, sd, size=(trials, n))
    t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n))
    simulated = float((np.abs(t) > stats.t.ppf(0.975, n - 1)).mean())
    assert simulated == pytest.approx(paired_power(effect, sd, n), abs=0.01)  # 3 standard errors of 20,000 trials


def test_power_edge_cases():
    assert np.isnan(paired_power(0.1, 0.1, 1)) and np.isnan(minimum_detectable_effect(0.1, 1))
    assert minimum_detectable_effect(0.0, 5) == 0.0
    assert paired_power(0.0, 0.1, 5) == pytest.approx(0.05)  # no effect: the test's size
