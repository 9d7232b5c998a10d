"""Mask galleries: a PNG grid of images (columns) by strategies (rows), masks tinted over the images."""

import matplotlib.image
import numpy as np
import pytest
import torch

from masks import gallery
from masks.gallery import render_gallery


def expected_size(n_images: int, n_rows: int, title: bool) -> tuple[int, int]:
    """(height, width) in pixels, from the layout constants (matplotlib truncates to whole pixels)."""
    width = gallery.LABEL_INCHES + n_images * gallery.TILE_INCHES + (n_images + 1) * gallery.PAD_INCHES
    height = (gallery.TITLE_INCHES if title else 0) + n_rows * gallery.TILE_INCHES + (n_rows + 1) * gallery.PAD_INCHES
    return int(height * gallery.DPI), int(width * gallery.DPI)


def test_writes_a_png_grid_of_the_expected_size(tmp_path):
    images = torch.rand(4, 3, 32, 32)
    hard = (torch.rand(4, 1, 32, 32) > 0.5).float()
    soft = torch.softmax(torch.randn(4, 3, 32, 32), 1)
    path = render_gallery(images, {"random-patch": hard, "adios (K=3)": soft}, tmp_path / "sub" / "masks.png", title="test")
    assert path == tmp_path / "sub" / "masks.png" and path.exists()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    picture = matplotlib.image.imread(path)
    assert picture.shape[:2] == expected_size(4, 3, title=True)
    assert gallery.TILE_INCHES * gallery.DPI >= 3 * 32  # 32 px images are drawn at least 3x
    assert float(picture[..., :3].std()) > 0.1  # not blank


def test_hidden_pixels_are_tinted(tmp_path):
    images = torch.full((2, 3, 16, 16), 0.9)  # a light image: hidden pixels turn darker (grey)
    masks = torch.zeros(2, 1, 16, 16)
    masks[:, :, :, 8:] = 1
    picture = matplotlib.image.imread(render_gallery(images, {"half": masks}, tmp_path / "g.png"))
    height, width = expected_size(2, 2, title=False)
    assert picture.shape[:2] == (height, width)
    # the first tile of the mask row: left half as the image, right half tinted
    tile = round(gallery.TILE_INCHES * gallery.DPI)
    top = round((2 * gallery.PAD_INCHES + gallery.TILE_INCHES) * gallery.DPI)
    left = round((gallery.LABEL_INCHES + gallery.PAD_INCHES) * gallery.DPI)
    row = picture[top + tile // 2, left : left + tile, :3]
    shown, tinted = row[tile // 8 : 3 * tile // 8].mean(), row[5 * tile // 8 : 7 * tile // 8].mean()
    assert shown == pytest.approx(0.9, abs=0.02)
    assert tinted < 0.75


def test_overlay_colours_slots_by_argmax():
    images = np.full((1, 2, 2, 3), 0.5)
    slots = np.zeros((1, 3, 2, 2))
    slots[0, 0, 0, 0] = slots[0, 1, 0, 1] = slots[0, 2, 1, :] = 1
    out = gallery.overlay(images, slots)
    assert len({tuple(np.round(out[0, 0, 0], 4)), tuple(np.round(out[0, 0, 1], 4)), tuple(np.round(out[0, 1, 0], 4))}) == 3
    assert np.allclose(out[0, 1, 0], out[0, 1, 1])


def test_masks_that_do_not_fit_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="do not fit"):
        render_gallery(torch.rand(2, 3, 8, 8), {"x": torch.zeros(3, 1, 8, 8)}, tmp_path / "g.png")
