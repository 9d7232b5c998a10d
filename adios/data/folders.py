"""Real datasets from a local folder, in their standard on-disk formats. Nothing is downloaded.

* ``cifar10``: ``DIR/cifar-10-batches-py/`` (the "python version": pickled ``data_batch_1..5``, ``test_batch``)
* ``cifar100``: ``DIR/cifar-100-python/`` (pickled ``train``, ``test``; fine labels)
* ``stl10``: ``DIR/stl10_binary/`` (``train_X.bin``, ``train_y.bin``, ``test_X.bin``, ``test_y.bin``; labelled splits)
* ``imagefolder``: ``DIR/train/<class>/*`` and ``DIR/test/<class>/*`` (or ``val``), any format PIL reads

torchvision's CIFAR and STL-10 classes insist on the published file checksums, so they refuse a
subset or a re-packed copy; these loaders read the same formats directly. ImageFolder is
torchvision's own.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from adios.data.dataset import ImageDataset
from adios.errors import UserError


def _resize(images: Tensor, size: int) -> Tensor:
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


def _folder(root: Path | None, sub: str, name: str, how: str) -> Path:
    if root is None:
        raise UserError(f"dataset '{name}' reads from a local folder: pass --data-dir DIR, where DIR holds {sub}/ ({how})")
    folder = Path(root).expanduser() / sub
    if not folder.is_dir():
        raise UserError(f"no {sub}/ folder in {root}: put the {how} there, or point --data-dir at its parent")
    return folder


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"missing file {path}: the dataset folder is incomplete; extract the archive again")
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="bytes")
    except Exception as error:
        raise UserError(f"cannot read {path} ({type(error).__name__}): the file is corrupt; extract the archive again") from None


def _cifar_arrays(batch: dict, label_key: bytes, path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (KeyError, ValueError) as error:
        raise UserError(f"{path} is not in the CIFAR python format ({error}); extract the archive again") from None
    return data, labels


def _cifar(
    root: Path | None, size: int, name: str, sub: str, train_files: list[str], label_key: bytes, meta: str, names_key: bytes
) -> ImageDataset:
    folder = _folder(root, sub, name, f"the CIFAR 'python version' archive of {name}, extracted")
    splits = []
    for files in (train_files, ["test_batch" if name == "cifar10" else "test"]):
        arrays = [_cifar_arrays(_unpickle(folder / f), label_key, folder / f) for f in files]
        splits.append((np.concatenate([a for a, _ in arrays]), np.concatenate([b for _, b in arrays])))
    meta_path = folder / meta
    classes = (
        [c.decode() for c in _unpickle(meta_path)[names_key]]
        if meta_path.exists()
        else [str(i) for i in range(int(splits[0][1].max()) + 1)]
    )
    (xtr, ytr), (xte, yte) = splits
    return ImageDataset(
        name=name,
        train_images=_resize(torch.from_numpy(xtr), size),
        train_labels=torch.from_numpy(ytr),
        test_images=_resize(torch.from_numpy(xte), size),
        test_labels=torch.from_numpy(yte),
        classes=classes,
    )


def load_cifar10(root: Path | None, size: int = 32) -> ImageDataset:
    """CIFAR-10 from ``root/cifar-10-batches-py``."""
    files = [f"data_batch_{i}" for i in range(1, 6)]
    return _cifar(root, size, "cifar10", "cifar-10-batches-py", files, b"labels", "batches.meta", b"label_names")


def load_cifar100(root: Path | None, size: int = 32) -> ImageDataset:
    """CIFAR-100 (fine labels) from ``root/cifar-100-python``."""
    return _cifar(root, size, "cifar100", "cifar-100-python", ["train"], b"fine_labels", "meta", b"fine_label_names")


def _stl_split(folder: Path, split: str) -> tuple[Tensor, Tensor]:
    x_path, y_path = folder / f"{split}_X.bin", folder / f"{split}_y.bin"
    for path in (x_path, y_path):
        if not path.is_file():
            raise UserError(f"missing file {path}: the STL-10 folder is incomplete; extract stl10_binary.tar.gz again")
    raw = np.fromfile(x_path, dtype=np.uint8)
    labels = np.fromfile(y_path, dtype=np.uint8).astype(np.int64) - 1
    if (
        raw.size % (3 * 96 * 96)
        or raw.size // (3 * 96 * 96) != labels.size
        or (labels.size and (labels.min() < 0 or labels.max() > 9))
    ):
        raise UserError(f"{x_path} and {y_path} are not STL-10 binary files (wrong size or labels); extract the archive again")
    images = raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)  # stored column-major
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)


def load_stl10(root: Path | None, size: int = 96) -> ImageDataset:
    """STL-10's labelled train (5000) and test (8000) splits from ``root/stl10_binary``."""
    folder = _folder(root, "stl10_binary", "stl10", "extracted stl10_binary.tar.gz")
    xtr, ytr = _stl_split(folder, "train")
    xte, yte = _stl_split(folder, "test")
    names = folder / "class_names.txt"
    classes = names.read_text().split() if names.exists() else [str(i) for i in range(10)]
    return ImageDataset(
        name="stl10",
        train_images=_resize(xtr, size),
        train_labels=ytr,
        test_images=_resize(xte, size),
        test_labels=yte,
        classes=classes,
    )


def _image_folder(folder: Path, size: int) -> tuple[Tensor, Tensor, list[str]]:
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    transform = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.PILToTensor()])
    try:
        dataset = ImageFolder(str(folder), transform=lambda im: transform(im.convert("RGB")))
        pairs = [dataset[i] for i in range(len(dataset))]
    except FileNotFoundError as error:
        raise UserError(f"{folder}: {error}") from None
    except OSError as error:
        raise UserError(f"cannot read an image under {folder} ({error}); remove or replace the corrupt file") from None
    return torch.stack([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs]), dataset.classes


def load_image_folder(root: Path | None, size: int = 32) -> ImageDataset:
    """ImageFolder-style ``root/train/<class>/`` and ``root/test/<class>/`` (or ``val``)."""
    train_dir = _folder(root, "train", "imagefolder", "one sub-folder of images per class")
    test_dir = next((Path(root) / s for s in ("test", "val") if (Path(root) / s).is_dir()), None)
    if test_dir is None:
        raise UserError(f"no test/ or val/ folder in {root}: add one with the same class sub-folders as train/")
    xtr, ytr, classes = _image_folder(train_dir, size)
    xte, yte, test_classes = _image_folder(test_dir, size)
    if test_classes != classes:
        raise UserError(f"{test_dir} has classes {test_classes}, but {train_dir} has {classes}; use the same sub-folders")
    return ImageDataset(name="imagefolder", train_images=xtr, train_labels=ytr, test_images=xte, test_labels=yte, classes=classes)
