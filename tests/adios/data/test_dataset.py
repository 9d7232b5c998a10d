"""ImageDataset: streamed channel statistics, the self-supervised pool, subsets that slice."""

import numpy as np
import pytest
import torch

from adios.data.dataset import ChannelSums, ImageDataset, channel_stats


def _dataset(n_train=6, n_test=2, **kwargs):
    g = torch.Generator().manual_seed(0)
    return ImageDataset(
        name="t",
        train_images=torch.randint(0, 256, (n_train, 3, 4, 4), dtype=torch.uint8, generator=g),
        train_labels=torch.arange(n_train),
        test_images=torch.randint(0, 256, (n_test, 3, 4, 4), dtype=torch.uint8, generator=g),
        test_labels=torch.arange(n_test),
        classes=[str(i) for i in range(n_train)],
        **kwargs,
    )


def test_channel_stats_by_hand():
    images = torch.zeros(2, 2, 1, 2, dtype=torch.uint8)
    images[:, 0] = torch.tensor([[[0, 255]], [[255, 255]]])  # channel 0: 0, 255, 255, 255
    images[:, 1] = 51  # channel 1 constant: std clamped to 1e-3
    mean, std = channel_stats(images, chunk=1)
    assert mean == pytest.approx((0.75, 0.2), abs=1e-15)
    assert std == pytest.approx((0.5, 1e-3), abs=1e-15)  # sample variance of (0,1,1,1) is 0.25


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_channel_stats_streamed_match_a_brute_force_reference(chunk):
    images = torch.randint(0, 256, (7, 3, 5, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    pixels = images.double().div(255).transpose(0, 1).reshape(3, -1)
    mean, std = channel_stats(images, chunk=chunk)
    assert np.allclose(mean, pixels.mean(1).numpy(), atol=1e-14) and np.allclose(std, pixels.std(1).numpy(), atol=1e-14)


def test_channel_sums_refuse_float_images():
    with pytest.raises(TypeError, match="uint8"):
        ChannelSums(3).add(np.zeros((1, 3, 2, 2), dtype=np.float32))


def test_the_pool_defaults_to_the_train_split_and_follows_subsets():
    data = _dataset()
    assert data.ssl_images is data.train_images and not data.has_unlabeled and data.ssl_labels is data.train_labels
    small = data.subset(3)
    assert small.ssl_images is small.train_images and small.ssl_images.shape[0] == 3
    assert small.train_images.data_ptr() == data.train_images.data_ptr()


def test_a_larger_pool_starts_with_the_train_images_and_is_kept_by_subsets():
    pool = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    data = _dataset(n_train=6, ssl_images=pool)
    assert data.ssl_images.shape == (10, 1, 3, 4, 4) and data.has_unlabeled
    assert data.ssl_labels.tolist() == [0, 1, 2, 3, 4, 5, -1, -1, -1, -1]
    small = data.subset(2, 1)
    assert small.ssl_images is data.ssl_images and small.ssl_labels.tolist() == [0, 1] + [-1] * 8


def test_a_pool_smaller_than_the_train_split_is_refused():
    with pytest.raises(ValueError, match="must extend"):
        _dataset(n_train=6, ssl_images=torch.zeros(5, 3, 4, 4, dtype=torch.uint8))


def test_mean_and_std_are_those_of_render_zero():
    data = _dataset()
    pixels = data.train_images[:, 0].double().div(255).transpose(0, 1).reshape(3, -1)
    assert np.allclose(data.mean, pixels.mean(1).numpy(), atol=1e-14)
    assert np.allclose(data.std, pixels.std(1).numpy(), atol=1e-14)
