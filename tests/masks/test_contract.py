"""Registry-driven property tests: every registered strategy gets these for free (docs/adding-a-mask-strategy.md, "1. The contract")."""

import pytest
import torch

import adios  # noqa: F401  (registers the built-ins)
import masks
from masks.apply import apply_masks
from masks.checks import SIZES, check_all, smoke_check

STRATEGIES = masks.names()


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_passes_the_shared_checks(name):
    """The checks of `adios check-strategy` (masks.checks): shape, range, device, determinism, target area, sizes."""
    results = check_all(name)
    assert [r.name for r in results] == [f"shape and range at {s} px" for s in SIZES] + ["determinism", "device", "target area"]
    failed = [f"{r.name}: {r.detail}" for r in results if not r.passed]
    assert not failed, failed


def test_the_checks_catch_a_broken_strategy():
    @masks.register("test-broken-range")
    class BrokenRange(masks.MaskStrategy):
        def __call__(self, images, generator, instances=None):
            return torch.full((images.shape[0], 1, *images.shape[-2:]), 2.0)

    @masks.register("test-broken-shape")
    class BrokenShape(masks.MaskStrategy):
        def __call__(self, images, generator, instances=None):
            return torch.zeros(images.shape[0], 1, 4, 4)

    @masks.register("test-broken-random")
    class BrokenRandom(masks.MaskStrategy):
        def __call__(self, images, generator, instances=None):
            return (torch.rand(images.shape[0], 1, *images.shape[-2:]) < 0.5).float()  # ignores the generator

    try:
        assert "outside [0, 1]" in next(r.detail for r in check_all("test-broken-range") if not r.passed)
        assert "expected (B, K, H, W)" in next(r.detail for r in check_all("test-broken-shape") if not r.passed)
        assert [r.name for r in check_all("test-broken-random") if not r.passed] == ["determinism"]
        assert smoke_check("test-broken-range") and smoke_check("none") is None
    finally:
        for name in ("test-broken-range", "test-broken-shape", "test-broken-random"):
            masks.STRATEGIES.unregister(name)


def test_apply_masks_hides_pixels_to_the_mean():
    images = torch.ones(2, 3, 4, 4)
    m = torch.zeros(2, 2, 4, 4)
    m[:, 0, :2] = 1
    m[:, 1, :, :1] = 0.5
    out = apply_masks(images, m)
    assert out.shape == (4, 3, 4, 4)
    assert torch.equal(out[0, :, :2], torch.zeros(3, 2, 4)) and torch.equal(out[0, :, 2:], torch.ones(3, 2, 4))
    assert torch.equal(out[2, :, :, 0], torch.full((3, 4), 0.5))  # mask 1 of image 0 sits at row K*B index 2


def test_unknown_strategy_raises():
    with pytest.raises(masks.UnknownStrategy):
        masks.get("no-such-mask")


def test_build_passes_only_accepted_options():
    strategy = masks.build("random-patch", mask_area=0.25, n_masks=99, image_size=32)
    assert strategy.target_area == 0.25
    assert strategy.options == {"mask_area": 0.25, "cell_size": None}


def test_learned_strategies_are_recognised_by_parameters():
    class Learned(masks.LearnedStrategy):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

    assert masks.is_learned(Learned())
    assert not masks.is_learned(masks.build("none"))
