"""`digits`: scikit-learn's bundled handwritten digits (8x8, 1797 images), upsampled. A small real dataset."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from adios.data.dataset import ImageDataset


def make_digits(size: int = 32, test_fraction: float = 0.2) -> ImageDataset:
    """The digits as RGB images of side ``size``, with a fixed stratified 80/20 split."""
    bunch = load_digits()
    images = torch.from_numpy(bunch.images).float().div(16).unsqueeze(1)  # (N, 1, 8, 8) in [0, 1]
    images = F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    images = (images.expand(-1, 3, -1, -1) * 255).round().to(torch.uint8)
    labels = torch.from_numpy(bunch.target).long()
    train, test = train_test_split(
        torch.arange(len(labels)).numpy(), test_size=test_fraction, stratify=labels.numpy(), random_state=0
    )
    train, test = torch.from_numpy(train), torch.from_numpy(test)
    return ImageDataset(
        name="digits",
        train_images=images[train],
        train_labels=labels[train],
        test_images=images[test],
        test_labels=labels[test],
        classes=[str(d) for d in range(10)],
    )
