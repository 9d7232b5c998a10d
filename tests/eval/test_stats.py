import math

import pytest

from eval.stats import mean_std, paired_difference


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
