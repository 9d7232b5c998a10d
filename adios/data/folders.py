"""Real datasets from a local folder, in their standard on-disk formats. Nothing is downloaded.

* ``cifar10``: ``DIR/cifar-10-batches-py/`` (the "python version": pickled ``data_batch_1..5``, ``test_batch``)
* ``cifar100``: ``DIR/cifar-100-python/`` (pickled ``train``, ``test``; fine labels)
* ``stl10``: ``DIR/stl10_binary/`` (``train_X.bin``, ``train_y.bin``, ``test_X.bin``, ``test_y.bin``; labelled
  splits, plus ``unlabeled_X.bin`` for the self-supervised pool when asked for)
* ``imagefolder``: ``DIR/train/<class>/*`` and ``DIR/test/<class>/*`` (or ``val``), any format PIL reads

Each is decoded once per image size, in worker processes, into the memory-mapped cache of
:mod:`adios.data.cache`; later loads map the cache and never read the sources again.

torchvision's CIFAR and STL-10 classes insist on the published file checksums, so they refuse a
subset or a re-packed copy; these loaders read the same formats directly. CIFAR's pickles are read
by a restricted unpickler that runs no code from the file (:mod:`adios.data.safe_pickle`).
ImageFolder's files are listed and decoded by torchvision (its ``find_classes``, ``make_dataset``
and ``default_loader``, which is PIL).

Bad input stops the load with a one-line :class:`~adios.errors.UserError` naming the problem:
a missing folder or file, an empty class folder, a file in the wrong format, or an image PIL cannot
decode (a corrupt file: the message names it; remove or replace it and run again).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from adios.data.cache import Contents, cached_dataset
from adios.data.dataset import ImageDataset
from adios.data.decode import CHUNK, Chunk
from adios.data.safe_pickle import load_cifar_batch
from adios.errors import UserError

STL_IMAGE = 3 * 96 * 96  # bytes per STL-10 image


def _resize(images: Tensor, size: int) -> Tensor:
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


def _resize_rows(images: np.ndarray, size: int) -> np.ndarray:
    """Chunk task: uint8 images (k, C, h, w) resized to (k, C, size, size)."""
    return _resize(torch.from_numpy(np.ascontiguousarray(images)), size).numpy()


def _array_chunks(images: np.ndarray, size: int) -> list[Chunk]:
    return [Chunk(_resize_rows, (images[i : i + CHUNK], size), len(images[i : i + CHUNK])) for i in range(0, len(images), CHUNK)]


def _folder(root: Path | None, sub: str, name: str, what: str) -> Path:
    if root is None:
        raise UserError(f"dataset '{name}' reads from a local folder: pass --data-dir DIR, where DIR holds {sub}/ (the {what})")
    folder = Path(root).expanduser() / sub
    if not folder.is_dir():
        raise UserError(f"no {sub}/ folder in {root}: put the {what} there, or point --data-dir at its parent")
    return folder


def _require(paths: list[Path], fix: str) -> None:
    for path in paths:
        if not path.is_file():
            raise UserError(f"missing file {path}: the dataset folder is incomplete; {fix}")


def _cifar_arrays(batch: dict, label_key: bytes, path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[label_key], dtype=np.int64).reshape(-1)
    except (KeyError, ValueError, TypeError) as error:
        raise UserError(f"{path} is not in the CIFAR python format ({type(error).__name__}); extract the archive again") from None
    if len(data) != len(labels) or not len(data) or labels.min() < 0:
        raise UserError(
            f"{path} is not in the CIFAR python format ({len(data)} images, {len(labels)} labels); extract the archive again"
        )
    return data, labels


def _cifar(
    root: Path | None,
    size: int,
    workers: int | None,
    name: str,
    sub: str,
    train_files: list[str],
    test_file: str,
    label_key: bytes,
    meta: str,
    names_key: bytes,
) -> ImageDataset:
    folder = _folder(root, sub, name, f"extracted CIFAR 'python version' archive of {name}")
    train_paths = [folder / f for f in train_files]
    test_path = folder / test_file
    meta_path = folder / meta
    _require([*train_paths, test_path], "extract the archive again")
    sources = [*train_paths, test_path] + ([meta_path] if meta_path.is_file() else [])

    def contents() -> Contents:
        train = [_cifar_arrays(load_cifar_batch(p), label_key, p) for p in train_paths]
        xte, yte = _cifar_arrays(load_cifar_batch(test_path), label_key, test_path)
        ytr = np.concatenate([labels for _, labels in train])
        if meta_path.is_file():
            classes = [c.decode() if isinstance(c, bytes) else str(c) for c in load_cifar_batch(meta_path).get(names_key, [])]
        else:
            classes = [str(i) for i in range(int(ytr.max()) + 1)]
        if int(max(ytr.max(), yte.max())) >= len(classes):
            raise UserError(
                f"{folder} has labels up to {int(max(ytr.max(), yte.max()))} but {len(classes)} class names; extract the archive again"
            )
        chunks = [c for images, _ in train for c in _array_chunks(images, size)] + _array_chunks(xte, size)
        return Contents({"train": len(ytr), "test": len(yte)}, (3, size, size), classes, ytr, yte, chunks)

    return cached_dataset(name, size, sources, contents, workers)


def load_cifar10(root: Path | None, size: int = 32, workers: int | None = None) -> ImageDataset:
    """CIFAR-10 from ``root/cifar-10-batches-py``."""
    files = [f"data_batch_{i}" for i in range(1, 6)]
    return _cifar(
        root, size, workers, "cifar10", "cifar-10-batches-py", files, "test_batch", b"labels", "batches.meta", b"label_names"
    )


def load_cifar100(root: Path | None, size: int = 32, workers: int | None = None) -> ImageDataset:
    """CIFAR-100 (fine labels) from ``root/cifar-100-python``."""
    return _cifar(
        root, size, workers, "cifar100", "cifar-100-python", ["train"], "test", b"fine_labels", "meta", b"fine_label_names"
    )


def _stl_rows(path: str, start: int, count: int, size: int) -> np.ndarray:
    """Chunk task: ``count`` STL-10 images from row ``start`` of an ``*_X.bin`` file, resized to ``size``."""
    raw = np.fromfile(path, dtype=np.uint8, count=count * STL_IMAGE, offset=start * STL_IMAGE)
    images = raw.reshape(count, 3, 96, 96).transpose(0, 1, 3, 2)  # stored column-major
    return _resize_rows(images, size)


def _stl_count(x_path: Path) -> int:
    n_bytes = x_path.stat().st_size
    if not n_bytes or n_bytes % STL_IMAGE:
        raise UserError(
            f"{x_path} is not STL-10 binary data ({n_bytes} bytes, not a positive multiple of 3x96x96); extract the archive again"
        )
    return n_bytes // STL_IMAGE


def _stl_labels(x_path: Path, y_path: Path) -> np.ndarray:
    labels = np.fromfile(y_path, dtype=np.uint8).astype(np.int64) - 1
    if _stl_count(x_path) != labels.size or labels.min() < 0 or labels.max() > 9:
        raise UserError(f"{x_path} and {y_path} are not STL-10 binary files (wrong size or labels); extract the archive again")
    return labels


def _stl_chunks(x_path: Path, rows: int, size: int) -> list[Chunk]:
    return [Chunk(_stl_rows, (str(x_path), i, min(CHUNK, rows - i), size), min(CHUNK, rows - i)) for i in range(0, rows, CHUNK)]


def load_stl10(root: Path | None, size: int = 96, unlabeled: bool = False, workers: int | None = None) -> ImageDataset:
    """STL-10's labelled train (5000) and test (8000) splits from ``root/stl10_binary``.

    With ``unlabeled``, the self-supervised pool is train then ``unlabeled_X.bin`` (100,000 images),
    stored as one memory map so that both are views of it.
    """
    folder = _folder(root, "stl10_binary", "stl10", "extracted stl10_binary.tar.gz")
    paths = {f"{split}_{k}": folder / f"{split}_{k}.bin" for split in ("train", "test") for k in ("X", "y")}
    _require(list(paths.values()), "extract stl10_binary.tar.gz again")
    unlabeled_path = folder / "unlabeled_X.bin"
    if unlabeled and not unlabeled_path.is_file():
        raise UserError(
            f"missing file {unlabeled_path}: --unlabeled needs STL-10's unlabeled split; extract stl10_binary.tar.gz again"
        )
    names = folder / "class_names.txt"
    sources = [*paths.values()] + ([unlabeled_path] if unlabeled else []) + ([names] if names.is_file() else [])

    def contents() -> Contents:
        ytr = _stl_labels(paths["train_X"], paths["train_y"])
        yte = _stl_labels(paths["test_X"], paths["test_y"])
        n_unlabeled = _stl_count(unlabeled_path) if unlabeled else 0
        chunks = _stl_chunks(paths["train_X"], len(ytr), size)
        chunks += _stl_chunks(unlabeled_path, n_unlabeled, size) if unlabeled else []
        chunks += _stl_chunks(paths["test_X"], len(yte), size)
        classes = names.read_text().split() if names.is_file() else [str(i) for i in range(10)]
        splits = {"train": len(ytr), "unlabeled": n_unlabeled, "test": len(yte)}
        return Contents(splits, (3, size, size), classes, ytr, yte, chunks)

    return cached_dataset("stl10", size, sources, contents, workers)


def _decode_files(paths: list[str], size: int) -> np.ndarray:
    """Chunk task: image files decoded by torchvision's loader (PIL), resized on the short side and centre-cropped."""
    from torchvision import transforms
    from torchvision.datasets.folder import default_loader

    transform = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.PILToTensor()])
    out = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            out[i] = transform(default_loader(path)).numpy()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise UserError(
                f"cannot decode image {path} ({type(error).__name__}); remove or replace the file, then run again"
            ) from None
    return out


def _list_images(folder: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """The image files under ``folder/<class>/``, their labels and the classes, as torchvision's ImageFolder lists them."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    try:
        classes, class_to_idx = find_classes(str(folder))
    except FileNotFoundError:
        raise UserError(
            f"no class sub-folders in {folder}: put the images in {folder}/<class>/, one sub-folder per class"
        ) from None
    samples = make_dataset(str(folder), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)
    counts = Counter(label for _, label in samples)
    empty = [c for c in classes if not counts[class_to_idx[c]]]
    if empty:
        raise UserError(
            f"class folder {folder / empty[0]} has no images ({', '.join(IMG_EXTENSIONS)}): add images or remove the folder"
        )
    return [path for path, _ in samples], np.array([label for _, label in samples], dtype=np.int64), classes


def load_image_folder(root: Path | None, size: int = 32, workers: int | None = None) -> ImageDataset:
    """ImageFolder-style ``root/train/<class>/`` and ``root/test/<class>/`` (or ``val``)."""
    train_dir = _folder(root, "train", "imagefolder", "class sub-folders of training images")
    root = Path(root).expanduser()
    test_dir = next((root / s for s in ("test", "val") if (root / s).is_dir()), None)
    if test_dir is None:
        raise UserError(f"no test/ or val/ folder in {root}: add one with the same class sub-folders as train/")
    train_files, ytr, classes = _list_images(train_dir)
    test_files, yte, test_classes = _list_images(test_dir)
    if test_classes != classes:
        raise UserError(f"{test_dir} has classes {test_classes}, but {train_dir} has {classes}; use the same sub-folders")

    def contents() -> Contents:
        files = train_files + test_files
        chunks = [
            Chunk(_decode_files, (files[i : i + CHUNK], size), len(files[i : i + CHUNK])) for i in range(0, len(files), CHUNK)
        ]
        return Contents({"train": len(ytr), "test": len(yte)}, (3, size, size), classes, ytr, yte, chunks)

    return cached_dataset("imagefolder", size, [Path(f) for f in train_files + test_files], contents, workers)
