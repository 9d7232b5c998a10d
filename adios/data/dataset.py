"""The in-memory dataset that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class ImageDataset:
    """Labelled train and test images as uint8 tensors.

    ``train_images`` has shape (N, R, C, H, W): R renders of each training image. Real datasets
    have R = 1, so both views come from the same picture. The procedural ``shapes`` data has R > 1:
    the same scene re-rendered on another background, which the trainer uses for the second view
    (a property of the benchmark, like multi-view data). Render 0 is the canonical image that the
    probes and the mask metrics see.

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

    def __post_init__(self) -> None:
        if self.train_images.dim() == 4:
            self.train_images = self.train_images.unsqueeze(1)
        if self.train_instances is not None and self.train_instances.dim() == 3:
            self.train_instances = self.train_instances.unsqueeze(1)
        if not self.mean:
            pixels = self.train_images[:, 0].float().div(255).transpose(0, 1).reshape(self.channels, -1)
            self.mean = tuple(pixels.mean(1).tolist())
            self.std = tuple(pixels.std(1).clamp_min(1e-3).tolist())

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
        """The first n images of each split (a fixed, stratification-free prefix)."""
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
        )
