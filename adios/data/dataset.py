"""The dataset that every loader returns: uint8 image tensors, in memory or backed by a memory-mapped cache."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

STATS_CHUNK = 256  # images per chunk when streaming the channel statistics


class ChannelSums:
    """Exact per-channel sums of uint8 pixels and of their squares, added chunk by chunk."""

    def __init__(self, channels: int) -> None:
        self.total = np.zeros(channels, dtype=np.int64)
        self.squares = np.zeros(channels, dtype=np.int64)
        self.count = 0  # pixels per channel

    def add(self, images: Tensor | np.ndarray) -> None:
        """Add uint8 images (k, C, H, W)."""
        x = images.numpy() if isinstance(images, Tensor) else np.asarray(images)
        if x.dtype != np.uint8:
            raise TypeError(f"channel sums need uint8 images, got {x.dtype}")
        self.total += x.sum(axis=(0, 2, 3), dtype=np.int64)
        self.squares += np.square(x, dtype=np.uint16).sum(axis=(0, 2, 3), dtype=np.int64)
        self.count += x.shape[0] * x.shape[2] * x.shape[3]

    def stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Mean and unbiased standard deviation (clamped at 1e-3) per channel, in [0, 1]."""
        if self.count < 2:
            raise ValueError("channel statistics need at least two pixels")
        mean = self.total / self.count
        var = (self.squares - self.count * mean**2) / (self.count - 1)
        std = np.sqrt(np.clip(var, 0, None)) / 255
        return tuple(float(m) for m in mean / 255), tuple(float(s) for s in np.clip(std, 1e-3, None))


def channel_stats(images: Tensor, chunk: int = STATS_CHUNK) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (unbiased) standard deviation in [0, 1] of uint8 images (N, C, H, W).

    Streams the images in chunks of ``chunk`` with exact integer sums, so a memory-mapped set is
    never loaded whole. The standard deviation is clamped at 1e-3.
    """
    sums = ChannelSums(images.shape[1])
    for start in range(0, images.shape[0], chunk):
        sums.add(images[start : start + chunk])
    return sums.stats()


@dataclass
class ImageDataset:
    """Labelled train and test images as uint8 tensors.

    ``train_images`` has shape (N, R, C, H, W): R renders of each training image. Real datasets
    have R = 1, so both views come from the same picture. The procedural ``shapes`` data has R > 1:
    the same scene re-rendered on another background, which the trainer uses for the second view
    (a property of the benchmark, like multi-view data). Render 0 is the canonical image that the
    probes and the mask metrics see.

    ``ssl_images`` (N', R, C, H, W) is the pool the self-supervised trainer draws its batches and
    views from: the labelled train images, then any unlabeled ones (STL-10's ``unlabeled`` split),
    so N' >= N and ``ssl_images[:N]`` are the train images. It defaults to ``train_images`` itself.
    The probes and the supervised reference use the labelled ``train_images`` / ``train_labels``.

    Real datasets are backed by a memory-mapped cache (:mod:`adios.data.cache`): their image
    tensors are views of the map, so memory holds only what is touched. ``mean`` / ``std`` are the
    per-channel statistics of the labelled train images (render 0), in [0, 1].

    Instance maps (0 = background, 1..k = objects) are optional, with shape (N, R, H, W) and (M, H, W).
    ``class_object`` says that instance id 1 is the object whose shape defines the class (true for
    ``shapes``): the negative control ``hide-main-object`` needs it.
    """

    name: str
    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    classes: list[str]
    train_instances: Tensor | None = None
    test_instances: Tensor | None = None
    class_object: bool = False
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())
    ssl_images: Tensor | None = None

    def __post_init__(self) -> None:
        if self.train_images.dim() == 4:
            self.train_images = self.train_images.unsqueeze(1)
        if self.train_instances is not None and self.train_instances.dim() == 3:
            self.train_instances = self.train_instances.unsqueeze(1)
        if self.ssl_images is None:
            self.ssl_images = self.train_images
        elif self.ssl_images.dim() == 4:
            self.ssl_images = self.ssl_images.unsqueeze(1)
        if self.ssl_images.shape[0] < self.train_images.shape[0] or self.ssl_images.shape[1:] != self.train_images.shape[1:]:
            raise ValueError(
                f"ssl_images {tuple(self.ssl_images.shape)} must extend train_images {tuple(self.train_images.shape)}"
            )
        if self.has_unlabeled and self.train_instances is not None:
            raise ValueError("a dataset with unlabeled images cannot have instance maps")
        if not self.mean:
            self.mean, self.std = channel_stats(self.train_images[:, 0])

    @property
    def channels(self) -> int:
        return self.train_images.shape[2]

    @property
    def image_size(self) -> int:
        return self.train_images.shape[-1]

    @property
    def renders(self) -> int:
        return self.train_images.shape[1]

    @property
    def has_instances(self) -> bool:
        return self.train_instances is not None and self.test_instances is not None

    @property
    def has_unlabeled(self) -> bool:
        """Whether the self-supervised pool holds more images than the labelled train split."""
        return self.ssl_images.shape[0] > self.train_images.shape[0]

    @property
    def ssl_labels(self) -> Tensor:
        """Labels of the self-supervised pool (N',): the train labels, then -1 for each unlabeled image."""
        extra = self.ssl_images.shape[0] - self.train_labels.shape[0]
        if not extra:
            return self.train_labels
        return torch.cat([self.train_labels, self.train_labels.new_full((extra,), -1)])

    def normalise(self, images: Tensor) -> Tensor:
        """uint8 or [0, 1] float images to the dataset's normalised space (the space masks apply in)."""
        x = images.float().div(255) if images.dtype == torch.uint8 else images
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def denormalise(self, images: Tensor) -> Tensor:
        """Normalised images back to [0, 1], for pictures."""
        mean = torch.tensor(self.mean, device=images.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, -1, 1, 1)
        return (images * std + mean).clamp(0, 1)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> ImageDataset:
        """The first n images of each split (a fixed, stratification-free prefix); slices, never copies.

        The self-supervised pool follows ``n_train`` when it is the train split; a pool with
        unlabeled images is kept whole (those images are why it was asked for).
        """
        tr = slice(None, n_train)
        te = slice(None, n_test)
        return ImageDataset(
            name=self.name,
            train_images=self.train_images[tr],
            train_labels=self.train_labels[tr],
            test_images=self.test_images[te],
            test_labels=self.test_labels[te],
            classes=self.classes,
            train_instances=None if self.train_instances is None else self.train_instances[tr],
            test_instances=None if self.test_instances is None else self.test_instances[te],
            class_object=self.class_object,
            mean=self.mean,
            std=self.std,
            ssl_images=self.ssl_images if self.has_unlabeled else None,
        )
