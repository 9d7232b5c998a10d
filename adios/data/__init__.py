"""Datasets by CLI name. ``shapes`` and ``digits`` are embedded; the others read a local folder.

Real datasets are decoded once per image size into a memory-mapped cache under ``$ADIOS_CACHE``
(:mod:`adios.data.cache`); their image tensors are views of that map.
"""

from __future__ import annotations

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
    "stl10": "local folder: DIR/stl10_binary (labelled splits; --unlabeled adds unlabeled_X.bin to the SSL pool)",
    "imagefolder": "local folder: DIR/train/<class>/, DIR/test/<class>/",
}

#: The datasets whose images come with instance maps (for ground-truth masks and mask-object agreement).
DATASETS_WITH_INSTANCES = frozenset({"shapes"})

#: The datasets with an unlabeled split that ``unlabeled=True`` adds to the self-supervised pool.
DATASETS_WITH_UNLABELED = frozenset({"stl10"})


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    image_size: int = 32,
    n_train: int | None = None,
    n_test: int | None = None,
    unlabeled: bool = False,
    workers: int | None = None,
) -> ImageDataset:
    """Load a dataset by name at ``image_size``, keeping the first ``n_train`` / ``n_test`` images.

    ``unlabeled`` adds the dataset's unlabeled split to the self-supervised pool (``ssl_images``);
    ``workers`` is the number of decoding processes when a real dataset is not cached yet (default:
    the CPU count).
    """
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    if image_size < 8:
        raise UserError(f"--image-size must be at least 8, got {image_size}")
    if unlabeled and name not in DATASETS_WITH_UNLABELED:
        raise UserError(f"dataset {name} has no unlabeled split; drop --unlabeled")
    if workers is not None and workers < 1:
        raise UserError(f"the number of decoding workers must be at least 1, got {workers}")
    root = Path(data_dir) if data_dir else None
    if name == "shapes":
        return make_shapes(n_train=n_train or 10_000, n_test=n_test or 2_000, size=image_size)
    if name == "digits":
        data = make_digits(image_size)
    elif name == "stl10":
        data = load_stl10(root, image_size, unlabeled=unlabeled, workers=workers)
    else:
        loader = {"cifar10": load_cifar10, "cifar100": load_cifar100, "imagefolder": load_image_folder}[name]
        data = loader(root, image_size, workers=workers)
    return data.subset(n_train, n_test)


__all__ = ["DATASETS", "DATASETS_WITH_INSTANCES", "DATASETS_WITH_UNLABELED", "ImageDataset", "load_dataset"]
