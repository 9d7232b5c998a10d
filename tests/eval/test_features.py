"""extract_features streams uint8 images (memory-mapped ones included) through normalise, batch by batch."""

import numpy as np
import pytest
import torch
from torch import nn

from eval.features import extract_features


def _encoder():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _normalise(images):
    return (images.float().div(255) - 0.5) / 0.25


def test_streaming_uint8_equals_the_whole_normalised_set(tmp_path):
    encoder = _encoder().train()
    array = np.memmap(tmp_path / "images.u8", dtype=np.uint8, mode="w+", shape=(10, 3, 8, 8))
    array[:] = np.random.default_rng(0).integers(0, 256, array.shape, dtype=np.uint8)
    images = torch.from_numpy(array)
    seen = []

    def recording(batch):
        seen.append((batch.shape[0], batch.dtype))
        return _normalise(batch)

    features = extract_features(encoder, images, batch_size=4, normalise=recording)
    assert seen == [(4, torch.uint8), (4, torch.uint8), (2, torch.uint8)]  # never more than a batch converted at once
    encoder.eval()
    with torch.no_grad():
        reference = encoder(_normalise(images))  # brute force: the whole set at once
    assert features.shape == (10, 4) and torch.allclose(features, reference, atol=1e-6)
    assert torch.allclose(extract_features(encoder, _normalise(images), batch_size=3), reference, atol=1e-6)


def test_the_encoder_mode_is_restored():
    encoder = _encoder().train()
    extract_features(encoder, torch.zeros(2, 3, 8, 8, dtype=torch.uint8), normalise=_normalise)
    assert encoder.training


def test_uint8_images_without_normalise_are_refused():
    with pytest.raises(ValueError, match="normalise"):
        extract_features(_encoder(), torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
