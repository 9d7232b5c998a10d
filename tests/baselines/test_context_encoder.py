"""`context-encoder`: the center, random-block and random-region schemes of Pathak et al. (2016)."""

import pytest
import torch
import torch.nn.functional as F

import baselines  # noqa: F401
import masks
from masks.stats import count_components


def draw(mode, images, instances=None, seed=0, **options):
    strategy = masks.build("context-encoder", mode=mode, image_size=images.shape[-1], **options)
    return strategy(images, torch.Generator().manual_seed(seed), instances)


@pytest.mark.parametrize(("size", "area", "top", "side"), [(32, 0.25, 8, 16), (96, 0.25, 24, 48), (64, 0.5, 9, 45)])
def test_center_hides_exactly_the_central_square(size, area, top, side):
    expected = torch.zeros(4, 1, size, size)
    expected[..., top : top + side, top : top + side] = 1
    assert torch.equal(draw("center", torch.randn(4, 3, size, size), mask_area=area), expected)


def test_default_mode_is_random_block():
    assert masks.build("context-encoder").mode == "random-block"
    assert masks.build("context-encoder").target_area == 0.25


@pytest.mark.parametrize("area", [0.25, 0.5])
def test_random_blocks_are_on_target_and_differ(area):
    m = draw("random-block", torch.randn(256, 3, 32, 32), mask_area=area)
    per_image = m.mean((1, 2, 3))
    assert abs(float(per_image.mean()) - area) < 0.02
    assert float((per_image - area).abs().max()) < 0.15  # never off by more than one rectangle
    assert set(m.unique().tolist()) == {0.0, 1.0}
    assert len({tuple(x.flatten().tolist()) for x in m}) == 256


def test_random_blocks_are_rectangles():
    """Every hidden pixel lies in a fully hidden 4x4 square: the rectangles have sides of at least size/8."""
    m = draw("random-block", torch.randn(64, 3, 32, 32))
    full = (F.avg_pool2d(m, 4, stride=1) == 1).float()  # (B, 1, 29, 29): fully hidden 4x4 windows
    covered = F.max_pool2d(F.pad(full, (3, 3, 3, 3)), 4, stride=1)  # pixels inside some such window
    assert torch.equal(covered, m)


def test_random_region_blobs_hit_the_target_exactly():
    m = draw("random-region", torch.randn(64, 3, 32, 32))
    assert m.sum((1, 2, 3)).tolist() == [256.0] * 64
    assert len({tuple(x.flatten().tolist()) for x in m}) == 64
    assert float(count_components(m > 0.5).float().mean()) <= 3.0  # smooth blobs, not noise


def squares(batch: int, side: int, size: int = 32) -> torch.Tensor:
    """Instance maps with one square object per image, at a different place in each image."""
    inst = torch.zeros(batch, size, size, dtype=torch.long)
    for i in range(batch):
        y, x = (3 * i) % (size - side + 1), (5 * i) % (size - side + 1)
        inst[i, y : y + side, x : x + side] = 1
    return inst


def test_random_region_takes_the_silhouettes_of_the_previous_image():
    inst = squares(8, 16)
    inst[inst == 1] = 0
    for i in range(8):  # a 240-pixel object and a 16-pixel one: together exactly the target, 256 of 1024 pixels
        y, x = (3 * i) % 17, (5 * i) % 17
        inst[i, y : y + 15, x : x + 16] = 1
    inst[:, 28:, 28:] = 2
    m = draw("random-region", torch.randn(8, 3, 32, 32), inst)
    for i in range(8):
        assert torch.equal(m[i, 0] > 0, inst[i - 1] > 0), f"image {i}: not the objects of image {i - 1}"
        assert not torch.equal(m[i, 0] > 0, inst[i] > 0)


def test_random_region_rescales_a_small_silhouette_to_the_target():
    inst = squares(8, 8)  # 64-pixel objects; the target is 256 pixels: a square of twice the side
    m = draw("random-region", torch.randn(8, 3, 32, 32), inst)
    donors = inst.roll(1, dims=0)
    for i in range(8):
        ys, xs = torch.nonzero(donors[i] == 1, as_tuple=True)
        cy, cx = ys.float().mean(), xs.float().mean()
        expected = torch.zeros(32, 32)
        top = int((cy - 7.5).clamp(0, 16).round())
        left = int((cx - 7.5).clamp(0, 16).round())
        expected[top : top + 16, left : left + 16] = 1
        hidden = m[i, 0]
        iou = float((hidden * expected).sum() / ((hidden + expected) > 0).sum())
        assert iou > 0.85, f"image {i}: iou {iou:.2f}"
        assert abs(float(hidden.mean()) - 0.25) < 0.03


def test_random_region_falls_back_to_blobs_without_objects():
    inst = squares(4, 16)
    inst[1] = 0  # image 2 takes image 1's objects: there are none
    m = draw("random-region", torch.randn(4, 3, 32, 32), inst)
    assert float(m[2].sum()) == 256.0
    assert torch.equal(m[3, 0] > 0, inst[2] == 1)


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="mode"):
        masks.build("context-encoder", mode="middle")
