"""Datasets by CLI name. ``shapes`` and ``digits`` are embedded; the others read a local folder.

Real datasets are decoded once per image size into a memory-mapped cache under ``$ADIOS_CACHE``
(:mod:`adios.data.cache`); their image tensors are views of that map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adios.data.dataset import ImageDataset
from adios.data.digits import make_digits
from adios.data.folders import load_cifar10, load_cifar100, load_image_folder, load_stl10
from adios.data.shapes import make_shapes
from adios.errors import UserError
from masks.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: how to load it and what it offers.

    ``load(root, image_size, n_train, n_test, unlabeled, workers)`` returns an :class:`ImageDataset`
    (it may return more images than asked; :func:`load_dataset` keeps the first ``n_train`` /
    ``n_test``). ``instances``: images come with instance maps; ``class_object``: instance id 1 is the
    object that defines the class; ``unlabeled``: an unlabeled split can join the SSL pool.
    """

    load: Callable[..., ImageDataset]
    description: str
    instances: bool = False
    class_object: bool = False
    unlabeled: bool = False


#: Datasets by CLI name. Plugins use the entry-point group ``adios.datasets`` (a :class:`DatasetSpec`).
DATASETS: Registry[DatasetSpec] = Registry("dataset", "adios.datasets")
DATASETS.register("shapes")(
    DatasetSpec(
        lambda root, size, n_train, n_test, **_: make_shapes(n_train=n_train or 10_000, n_test=n_test or 2_000, size=size),
        "embedded: procedural shapes with instance maps (10 classes, generated from a seed)",
        instances=True,
        class_object=True,
    )
)
DATASETS.register("digits")(
    DatasetSpec(
        lambda root, size, **_: make_digits(size),
        "embedded: scikit-learn's handwritten digits, upsampled (10 classes, 1797 images)",
    )
)
DATASETS.register("cifar10")(
    DatasetSpec(
        lambda root, size, workers=None, **_: load_cifar10(root, size, workers=workers), "local folder: DIR/cifar-10-batches-py"
    )
)
DATASETS.register("cifar100")(
    DatasetSpec(
        lambda root, size, workers=None, **_: load_cifar100(root, size, workers=workers), "local folder: DIR/cifar-100-python"
    )
)
DATASETS.register("stl10")(
    DatasetSpec(
        lambda root, size, unlabeled=False, workers=None, **_: load_stl10(root, size, unlabeled=unlabeled, workers=workers),
        "local folder: DIR/stl10_binary (labelled splits; --unlabeled adds unlabeled_X.bin to the SSL pool)",
        unlabeled=True,
    )
)
DATASETS.register("imagefolder")(
    DatasetSpec(
        lambda root, size, workers=None, **_: load_image_folder(root, size, workers=workers),
        "local folder: DIR/train/<class>/, DIR/test/<class>/",
    )
)


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
    spec = DATASETS.get(name)
    if image_size < 8:
        raise UserError(f"--image-size must be at least 8, got {image_size}")
    if unlabeled and not spec.unlabeled:
        raise UserError(f"dataset {name} has no unlabeled split; drop --unlabeled")
    if workers is not None and workers < 1:
        raise UserError(f"the number of decoding workers must be at least 1, got {workers}")
    root = Path(data_dir) if data_dir else None
    data = spec.load(root, image_size, n_train=n_train, n_test=n_test, unlabeled=unlabeled, workers=workers)
    return data.subset(n_train, n_test)


__all__ = ["DATASETS", "DatasetSpec", "ImageDataset", "load_dataset"]
