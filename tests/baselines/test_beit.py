"""`beit`: blockwise masking of the patch grid (Bao et al. 2022, Algorithm 1)."""

import pytest
import torch
import torch.nn.functional as F

import baselines  # noqa: F401
import masks
from baselines.beit import TRIES, block_masks, propose_blocks
from masks.cells import pixels_to_cells


def test_proposed_blocks_respect_size_aspect_and_grid():
    g = torch.Generator().manual_seed(0)
    for budget in (26, 2):  # a large remaining budget, and one below the minimum block
        top, left, height, width, valid = propose_blocks(torch.full((2000,), budget), 8, 8, g)
        assert top.shape == (2000, TRIES)
        h, w, t, lf = height[valid], width[valid], top[valid], left[valid]
        assert valid.float().mean() > 0.3
        assert (h * w >= 4).all()
        ratio = h / w
        assert (ratio >= 0.3 - 1e-6).all() and (ratio <= 1 / 0.3 + 1e-6).all()
        assert (t >= 0).all() and (lf >= 0).all() and (t + h <= 8).all() and (lf + w <= 8).all()
    assert (h > w).any() and (w > h).any()  # both orientations occur


def test_proposed_areas_follow_the_budget():
    g = torch.Generator().manual_seed(1)
    _, _, height, width, valid = propose_blocks(torch.tensor([4] * 500 + [40] * 500), 14, 14, g)
    area = (height * width).float()
    small, large = area[:500][valid[:500]], area[500:][valid[500:]]
    assert small.max() <= 6  # area ~ 4, rounded to whole patches
    assert large.mean() > 15 and large.max() > 30


def test_block_masks_never_overshoot_and_mostly_hit_the_count():
    g = torch.Generator().manual_seed(2)
    hidden = block_masks(512, 8, 8, 26, g, torch.device("cpu"))
    count = hidden.sum((1, 2))
    assert int(count.max()) == 26
    assert float((count == 26).float().mean()) > 0.4
    assert float(count.float().mean()) > 24


def test_masks_are_unions_of_blocks_of_at_least_two_by_two_patches():
    """With >= 4 patches and aspect in [0.3, 3.3], every block is at least 2x2: so is every hidden patch's neighbourhood."""
    m = masks.build("beit", image_size=32)(torch.randn(256, 3, 32, 32), torch.Generator().manual_seed(3))
    cells = pixels_to_cells(m, 4)
    assert set(cells.unique().tolist()) == {0.0, 1.0}  # whole patches
    full = (F.avg_pool2d(cells, 2, stride=1) == 1).float()  # fully hidden 2x2 windows
    covered = F.max_pool2d(F.pad(full, (1, 1, 1, 1)), 2, stride=1)
    assert torch.equal(covered, cells)
    assert abs(float(m.mean()) - 0.4) < 0.02


@pytest.mark.parametrize("size", [32, 96])
def test_grid_is_eight_by_eight_at_any_size(size):
    m = masks.build("beit", image_size=size)(torch.randn(8, 3, size, size), torch.Generator().manual_seed(0))
    cells = pixels_to_cells(m, size // 8)
    assert cells.shape == (8, 1, 8, 8) and set(cells.unique().tolist()) <= {0.0, 1.0}
    assert (cells.sum((1, 2, 3)) <= 26).all()


def test_invalid_min_patches():
    with pytest.raises(ValueError, match="min_patches"):
        masks.build("beit", min_patches=0)
