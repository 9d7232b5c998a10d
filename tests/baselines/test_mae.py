"""`mae`: an exact number of whole ViT-grid patches per image (He et al. 2022)."""

import pytest
import torch

import baselines  # noqa: F401  (registers the built-ins)
import masks
from masks.cells import pixels_to_cells


def draw(strategy, images, seed=0):
    return strategy(images, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("size", "cell"), [(32, 4), (96, 12)])
def test_hides_exactly_three_quarters_of_the_patch_grid(size, cell):
    strategy = masks.build("mae", image_size=size)
    m = draw(strategy, torch.randn(16, 3, size, size))
    cells = pixels_to_cells(m, cell)
    assert cells.shape == (16, 1, 8, 8)
    assert set(cells.unique().tolist()) <= {0.0, 1.0}  # unions of whole patches
    assert cells.sum((1, 2, 3)).tolist() == [round(0.75 * 64)] * 16


def test_cell_size_and_area_options():
    strategy = masks.build("mae", image_size=32, cell_size=8, mask_area=0.5)
    cells = pixels_to_cells(draw(strategy, torch.randn(8, 3, 32, 32)), 8)
    assert cells.shape == (8, 1, 4, 4)
    assert cells.sum((1, 2, 3)).tolist() == [8.0] * 8


def test_images_get_different_patches():
    m = draw(masks.build("mae"), torch.randn(16, 3, 32, 32))
    assert len({tuple(x.flatten().tolist()) for x in m}) == 16


def test_defaults_and_invalid_options():
    assert masks.build("mae").target_area == 0.75
    with pytest.raises(ValueError, match="mask_area"):
        masks.build("mae", mask_area=1.5)
    with pytest.raises(ValueError, match="cell_size"):
        masks.build("mae", cell_size=0)
