"""Mask-vs-object agreement against brute-force and hand-computed values."""

import math

import numpy as np
import pytest
import torch

from eval.mask_metrics import (
    adjusted_rand_index,
    best_match_iou,
    best_match_ious,
    mask_agreement,
    partition_from_masks,
)


def ari_by_pairs(x: np.ndarray, y: np.ndarray, pair_counts) -> float:
    """ARI from pair counts (Hubert & Arabie 1985), over every pair of pixels."""
    same_same, same_diff, diff_same, diff_diff = pair_counts(x, y)
    num = 2 * (same_same * diff_diff - same_diff * diff_same)
    den = (same_same + diff_same) * (diff_same + diff_diff) + (same_same + same_diff) * (same_diff + diff_diff)
    return 1.0 if den == 0 else num / den


def iou_brute_force(partition: np.ndarray, instances: np.ndarray) -> list[float]:
    out = []
    for p, t in zip(partition, instances, strict=True):
        for obj in np.unique(t[t >= 1]):
            o = t == obj
            out.append(max((o & (p == s)).sum() / (o | (p == s)).sum() for s in np.unique(p)))
    return out


def test_perfect_partition_scores_one():
    inst = torch.zeros(2, 6, 6, dtype=torch.long)
    inst[0, 1:3, 1:4] = 1
    inst[0, 4:, 4:] = 2
    inst[1, 2:5, 0:2] = 1
    relabelled = (inst + 3) * 7  # ARI and IoU ignore the ids' values
    assert adjusted_rand_index(relabelled, inst) == pytest.approx(1.0)
    assert adjusted_rand_index(relabelled, inst, foreground_only=True) == pytest.approx(1.0)
    assert best_match_iou(relabelled, inst) == pytest.approx(1.0)


def test_hand_computed_iou():
    # 4x4 image: object 1 is the top-left 2x2 block, object 2 is row 3, columns 2-3.
    inst = torch.zeros(1, 4, 4, dtype=torch.long)
    inst[0, :2, :2] = 1
    inst[0, 3, 2:] = 2
    # segments: left half (8 px) and right half (8 px)
    part = torch.zeros(1, 4, 4, dtype=torch.long)
    part[0, :, 2:] = 1
    # object 1: 4 / 8 with the left half; object 2: 2 / 8 with the right half
    np.testing.assert_allclose(best_match_ious(part, inst), [0.5, 0.25])
    assert best_match_iou(part, inst) == pytest.approx(0.375)


def test_iou_and_ari_match_brute_force_on_random_maps(pair_counts):
    rng = np.random.default_rng(0)
    part = rng.integers(0, 4, size=(3, 5, 5))
    inst = rng.integers(0, 3, size=(3, 5, 5))
    np.testing.assert_allclose(best_match_ious(part, inst), iou_brute_force(part, inst))
    expected = np.mean([ari_by_pairs(p.ravel(), t.ravel(), pair_counts) for p, t in zip(part, inst, strict=True)])
    assert adjusted_rand_index(part, inst) == pytest.approx(expected)
    fg = np.mean(
        [ari_by_pairs(p.ravel()[t.ravel() >= 1], t.ravel()[t.ravel() >= 1], pair_counts) for p, t in zip(part, inst, strict=True)]
    )
    assert adjusted_rand_index(part, inst, foreground_only=True) == pytest.approx(fg)


def test_foreground_only_ignores_background_pixels():
    inst = torch.zeros(1, 4, 4, dtype=torch.long)
    inst[0, :2, :2] = 1
    inst[0, 2:, 2:] = 2
    part = inst.clone()
    part[0, 0, 3] = 1  # background pixels put into the objects' segments
    part[0, 3, 0] = 2
    assert adjusted_rand_index(part, inst, foreground_only=True) == pytest.approx(1.0)
    assert adjusted_rand_index(part, inst) < 0.99


def test_foreground_only_skips_images_without_objects():
    inst = torch.zeros(2, 3, 3, dtype=torch.long)
    inst[1, 0] = 1
    part = torch.zeros(2, 3, 3, dtype=torch.long)
    part[1, 0] = 5
    assert adjusted_rand_index(part, inst, foreground_only=True) == pytest.approx(1.0)
    assert math.isnan(adjusted_rand_index(part[:1], inst[:1], foreground_only=True))


def test_partition_from_slots_and_from_static_masks():
    slots = torch.zeros(1, 3, 2, 2, dtype=torch.bool)
    slots[0, 0, 0, 0] = slots[0, 1, 0, 1] = slots[0, 2, 1] = True
    assert partition_from_masks(slots).tolist() == [[[1, 2], [3, 3]]]
    static = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert partition_from_masks(static).tolist() == [[[0, 1], [1, 0]]]
    with pytest.raises(ValueError):
        partition_from_masks(torch.zeros(2, 2, 2))


def test_mask_agreement_summary():
    inst = torch.zeros(2, 4, 4, dtype=torch.long)
    inst[:, :2, :2] = 1
    inst[:, 2:, 2:] = 2
    one_hot = torch.nn.functional.one_hot(inst, 3).permute(0, 3, 1, 2).bool()  # a perfect 3-slot partition
    assert mask_agreement(partition_from_masks(one_hot), inst) == pytest.approx({"ari": 1.0, "ari_fg": 1.0, "best_iou": 1.0})
    hidden = (inst == 1)[:, None]  # a static mask hiding object 1: two segments
    summary = mask_agreement(partition_from_masks(hidden), inst)
    assert summary["best_iou"] == pytest.approx((1.0 + 4 / 12) / 2)
    assert summary["ari"] < 1.0 and set(summary) == {"ari", "ari_fg", "best_iou"}
