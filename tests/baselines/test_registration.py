"""The built-in static strategies: registration order, docstrings citing a paper, option checks."""

import pytest
import torch

import baselines
import masks

BUILT_INS = ["none", "random-patch", "mae", "context-encoder", "beit", "sift-bovw", "ground-truth", "hide-main-object"]


def test_every_module_of_the_package_registers_without_a_list():
    """No hand-kept import list: every module in baselines/ is imported and registers; `none` leads."""
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(baselines.__path__)}
    registered = {
        masks.get(n).__module__.split(".")[-1] for n in masks.names() if masks.get(n).__module__.startswith("baselines.")
    }
    assert registered == modules - {"options"}  # options.py holds shared checks, no strategy
    assert masks.names()[0] == "none"
    assert set(BUILT_INS) <= set(masks.names())


@pytest.mark.parametrize("name", BUILT_INS)
def test_every_module_cites_its_source(name):
    module = __import__(masks.get(name).__module__, fromlist=["_"])
    assert module.__doc__ and masks.get(name).__doc__


@pytest.mark.parametrize("name", [n for n in BUILT_INS if masks.takes_area(n)])
def test_mask_area_is_an_option_and_is_checked(name):
    assert masks.build(name, mask_area=0.3, image_size=32).target_area == 0.3
    with pytest.raises(ValueError, match="mask_area"):
        masks.build(name, mask_area=-0.1)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("mae", {}),
        ("context-encoder", {"mode": "random-block"}),
        ("context-encoder", {"mode": "random-region"}),
        ("beit", {}),
        ("sift-bovw", {"words": 16}),
        ("ground-truth", {}),
    ],
)
def test_masks_do_not_change_under_bf16_autocast(name, options):
    """The trainer draws masks inside autocast: the geometry and the SIFT distances stay in float32."""
    images = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    instances = torch.zeros(64, 32, 32, dtype=torch.long)
    for i in range(64):  # objects of many sizes and places, so that random-region rescales them all differently
        instances[i, i % 16 : i % 16 + 5 + i % 11, 2 * i % 20 : 2 * i % 20 + 3 + i % 9] = 1
    strategy = masks.build(name, image_size=32, **options)
    strategy.fit(images)
    plain = strategy(images, torch.Generator().manual_seed(1), instances)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = strategy(images, torch.Generator().manual_seed(1), instances)
    assert torch.equal(plain, mixed)
