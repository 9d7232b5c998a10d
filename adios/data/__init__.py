"""Datasets by CLI name. ``shapes`` and ``digits`` are embedded; the others read a local folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adios.data.dataset import ImageDataset
from adios.data.digits import make_digits
from adios.data.folders import load_cifar10, load_cifar100, load_image_folder, load_stl10
from adios.data.shapes import make_shapes
from adios.errors import UserError, unknown_name

DATASETS: dict[str, str] = {
    "shapes": "embedded: procedural shapes with instance maps (10 classes, generated from a seed)",
    "digits": "embedded: scikit-learn's handwritten digits, upsampled (10 classes, 1797 images)",
    "cifar10": "local folder: DIR/cifar-10-batches-py",
    "cifar100": "local folder: DIR/cifar-100-python",
    "stl10": "local folder: DIR/stl10_binary (labelled splits)",
    "imagefolder": "local folder: DIR/train/<class>/, DIR/test/<class>/",
}

#: The datasets whose images come with instance maps (for ground-truth masks and mask-object agreement).
DATASETS_WITH_INSTANCES = frozenset({"shapes"})
#: The datasets that say which object defines the class (instance id 1), for the hide-main-object control.
DATASETS_WITH_CLASS_OBJECT = frozenset({"shapes"})

_LOADERS: dict[str, Callable[[Path | None, int], ImageDataset]] = {
    "cifar10": load_cifar10,
    "cifar100": load_cifar100,
    "stl10": load_stl10,
    "imagefolder": load_image_folder,
}


def load_dataset(
    name: str, data_dir: str | Path | None = None, image_size: int = 32, n_train: int | None = None, n_test: int | None = None
) -> ImageDataset:
    """Load a dataset by name at ``image_size``, keeping the first ``n_train`` / ``n_test`` images."""
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    if image_size < 8:
        raise UserError(f"--image-size must be at least 8, got {image_size}")
    if name == "shapes":
        return make_shapes(n_train=n_train or 10_000, n_test=n_test or 2_000, size=image_size)
    data = make_digits(image_size) if name == "digits" else _LOADERS[name](Path(data_dir) if data_dir else None, image_size)
    return data.subset(n_train, n_test)


__all__ = ["DATASETS", "DATASETS_WITH_CLASS_OBJECT", "DATASETS_WITH_INSTANCES", "ImageDataset", "load_dataset"]
