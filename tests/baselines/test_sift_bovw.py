"""`sift-bovw`: dense SIFT visual words; a mask hides every cell of the chosen words."""

import numpy as np
import pytest
import torch
from kornia.feature import SIFTDescriptor

import baselines  # noqa: F401
import masks
from baselines import sift_bovw
from masks.cells import pixels_to_cells


@pytest.fixture(scope="module")
def fitted(tiny_shapes):
    """A codebook of 32 words fitted on the tiny shapes data, and normalised test images."""
    strategy = masks.build("sift-bovw", image_size=32, words=32)
    strategy.fit(tiny_shapes.normalise(tiny_shapes.train_images[:, 0]))
    return strategy, tiny_shapes.normalise(tiny_shapes.test_images)


def test_masking_before_fit_is_an_error():
    with pytest.raises(RuntimeError, match="fit"):
        masks.build("sift-bovw")(torch.randn(2, 3, 32, 32), torch.Generator())


def test_words_match_a_brute_force_loop_over_cells(fitted):
    strategy, images = fitted
    images = images[:4]
    words = strategy.assign(images)
    crops = [images[i].mean(0)[r * 8 : (r + 1) * 8, c * 8 : (c + 1) * 8] for i in range(4) for r in range(4) for c in range(4)]
    with torch.no_grad():  # SIFT of each crop on its own (one call on the stack: patches are independent)
        descriptors = SIFTDescriptor(patch_size=8)(torch.stack(crops)[:, None]).numpy()
    codebook = strategy.codebook.numpy()
    for n, d in enumerate(descriptors):
        i, cell = divmod(n, 16)
        nearest = int(np.argmin(((codebook - d) ** 2).sum(1)))
        assert int(words[i, cell]) == nearest, f"image {i} cell {cell}"


def test_masks_hide_whole_cells_and_whole_words(fitted):
    strategy, images = fitted
    m = strategy(images, torch.Generator().manual_seed(0))
    cells = pixels_to_cells(m, 8).flatten(1)  # (N, 16)
    assert set(cells.unique().tolist()) == {0.0, 1.0}
    words = strategy.assign(images)
    for i in range(images.shape[0]):
        for word in words[i].unique():
            hidden = cells[i][words[i] == word]
            assert hidden.min() == hidden.max(), f"image {i}: word {int(word)} partly hidden"
        assert cells[i].sum() >= 1  # at least one word
    assert abs(float(m.mean()) - 0.4) < 0.05


def test_hidden_count_is_within_one_word_of_the_target(fitted):
    strategy, images = fitted
    m = strategy(images, torch.Generator().manual_seed(1))
    hidden = pixels_to_cells(m, 8).flatten(1).sum(1)
    words = strategy.assign(images)
    counts = torch.stack([torch.bincount(w, minlength=32) for w in words])
    largest = counts.max(1).values.float()
    assert ((hidden - 6.4).abs() <= largest).all()


def test_codebook_is_cached_per_data(tmp_path, monkeypatch):
    images = torch.randn(12, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    first = masks.build("sift-bovw", words=16)
    first.fit(images, cache_dir=tmp_path)
    files = list(tmp_path.glob("sift-bovw-*.npy"))
    assert len(files) == 1 and not list(tmp_path.glob(".*tmp"))

    def no_kmeans(*args, **kwargs):
        raise AssertionError("the cached codebook should have been loaded")

    monkeypatch.setattr(sift_bovw, "MiniBatchKMeans", no_kmeans)
    second = masks.build("sift-bovw", words=16)
    second.fit(images, cache_dir=tmp_path)
    assert torch.equal(first.codebook, second.codebook)
    with pytest.raises(AssertionError, match="cached"):
        masks.build("sift-bovw", words=16).fit(images + 1, cache_dir=tmp_path)  # other data: not the same key


def test_fit_is_deterministic_and_subsamples(monkeypatch):
    images = torch.randn(20, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    a, b = masks.build("sift-bovw", words=8, fit_images=10), masks.build("sift-bovw", words=8, fit_images=10)
    seen = []
    real = sift_bovw.SiftBoVW.descriptors
    monkeypatch.setattr(sift_bovw.SiftBoVW, "descriptors", lambda self, x: seen.append(x.shape[0]) or real(self, x))
    a.fit(images)
    b.fit(images)
    assert torch.equal(a.codebook, b.codebook) and a.codebook.shape == (8, 128)
    assert sum(seen) == 20  # 10 images per fit


@pytest.mark.parametrize("size", [64, 96])
def test_default_cell_is_a_quarter_of_the_side(size):
    strategy = masks.build("sift-bovw", words=16, image_size=size)
    images = torch.randn(8, 3, size, size)
    strategy.fit(images)
    m = strategy(images, torch.Generator().manual_seed(0))
    assert set(pixels_to_cells(m, size // 4).unique().tolist()) == {0.0, 1.0}


def test_invalid_options():
    with pytest.raises(ValueError, match="words"):
        masks.build("sift-bovw", words=1)
    with pytest.raises(ValueError, match="cell_size"):
        masks.build("sift-bovw", cell_size=-8)
    for cell in (2, 3, 7):  # kornia's 4x4 pooling grid does not fit these
        with pytest.raises(ValueError, match=f"cell_size {cell} px"):
            masks.build("sift-bovw", cell_size=cell)


def test_default_cell_is_the_largest_that_sift_fits():
    strategy = masks.build("sift-bovw", words=8)
    assert [strategy.cell(size) for size in (16, 24, 28, 32)] == [4, 6, 6, 8]  # 28 / 4 = 7 px does not fit: 6
    images = torch.randn(8, 3, 28, 28)
    strategy.fit(images)
    m = strategy(images, torch.Generator().manual_seed(0))
    assert m.shape == (8, 1, 28, 28) and set(pixels_to_cells(m, 6).unique().tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="at least 16 px"):
        strategy.fit(torch.randn(4, 3, 12, 12))


@pytest.mark.parametrize("cell", [4, 6, 8, 16, 24, 48])
def test_cell_sift_equals_kornias_sift_descriptor(cell):
    patches = torch.rand(64, 1, cell, cell, generator=torch.Generator().manual_seed(cell))
    patches[0] = 0.5  # flat: no gradient, RootSIFT's constant descriptor
    patches[1] = torch.linspace(0, 1, cell)  # one orientation everywhere
    with torch.no_grad():
        expected = SIFTDescriptor(patch_size=cell)(patches)
        got = sift_bovw.CellSIFT(cell)(patches)
    assert got.shape == expected.shape == (64, 128)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
