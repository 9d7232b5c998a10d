"""The on-disk cache of decoded real datasets: decode once, then memory-map.

A dataset decoded at one image size lives in ``$ADIOS_CACHE/<name>-<size>px-<key>/``, where the key
hashes the source files (paths, sizes, modification times) and the size, so an edited or moved
source is decoded again. The folder holds

* ``images.u8``: every image as raw uint8 (rows, C, H, W), the splits one after another in the
  order of ``meta.json``'s ``splits`` (train, then unlabeled if any, then test);
* ``train_labels.npy``, ``test_labels.npy``: int64 labels;
* ``meta.json``: shape, splits, classes, and the channel mean/std of the train split.

The folder is built under a temporary name (``.<name>.<pid>.<token>.tmp``), with ``meta.json``
written last, and renamed into place once synced: a process killed at any moment leaves either no
cache folder or a complete one. Temporary folders of dead processes are removed on the next build.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from adios.data.dataset import ChannelSums, ImageDataset
from adios.data.decode import Chunk, decode_chunks
from adios.data.shapes import default_cache_dir
from adios.errors import UserError
from masks.atomic import atomic_write

VERSION = 1  # bump when the layout or the decoding changes, so stale caches are not reused
SPLITS = ("train", "unlabeled", "test")  # the row order in images.u8


@dataclass
class Contents:
    """What a loader decodes: rows per split, labels, classes, and the chunks that produce the images in row order."""

    splits: dict[str, int]
    image_shape: tuple[int, int, int]
    classes: list[str]
    train_labels: np.ndarray
    test_labels: np.ndarray
    chunks: Sequence[Chunk]


def cache_key(name: str, size: int, sources: Sequence[Path]) -> str:
    """A hash of the dataset name, the image size and each source file's resolved path, size and mtime."""
    files = []
    for path in sources:
        stat = Path(path).stat()
        files.append([str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns])
    text = json.dumps({"v": VERSION, "name": name, "size": size, "files": files})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_folder(name: str, size: int, sources: Sequence[Path], root: Path | None = None) -> Path:
    """The folder that holds (or will hold) ``name`` decoded at ``size`` from ``sources``."""
    return (root or default_cache_dir()) / f"{name}-{size}px-{cache_key(name, size, sources)}"


def open_cached(folder: Path, name: str) -> ImageDataset | None:
    """The dataset of a complete cache folder, its images memory-mapped; None when there is none."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") != VERSION:
            return None
        rows = sum(meta["splits"].values())
        shape = (rows, *meta["image_shape"])
        images = torch.from_numpy(np.memmap(folder / "images.u8", dtype=np.uint8, mode="c", shape=shape))
        train_labels = torch.from_numpy(np.load(folder / "train_labels.npy"))
        test_labels = torch.from_numpy(np.load(folder / "test_labels.npy"))
        n_train, n_unlabeled = meta["splits"]["train"], meta["splits"].get("unlabeled", 0)
        pool = n_train + n_unlabeled
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if len(train_labels) != n_train or len(test_labels) != rows - pool:
        return None
    return ImageDataset(
        name=name,
        train_images=images[:n_train],
        train_labels=train_labels,
        test_images=images[pool:],
        test_labels=test_labels,
        classes=list(meta["classes"]),
        mean=tuple(meta["mean"]),
        std=tuple(meta["std"]),
        ssl_images=images[:pool] if n_unlabeled else None,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(folder: Path) -> None:
    for tmp in folder.parent.glob(f".{folder.name}.*.tmp"):
        try:
            pid = int(tmp.name.split(".")[-3])
        except (IndexError, ValueError):
            continue
        if not _alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save_array(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda handle: np.save(handle, array))


def _reserve(fd: int, n_bytes: int) -> None:
    """Allocate the file's blocks up front, so a full disk fails here and not half-way."""
    try:
        os.posix_fallocate(fd, 0, n_bytes)
    except AttributeError:  # no posix_fallocate on this platform
        pass
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise
        # a file system that cannot preallocate: the writes will still report a full disk


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    while data:
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def _write_images(path: Path, contents: Contents, workers: int | None, description: str) -> tuple[list[float], list[float]]:
    """Decode every chunk into ``path`` at its row offset; the channel statistics of the train rows."""
    row_bytes = int(np.prod(contents.image_shape))
    offsets = np.concatenate([[0], np.cumsum([c.rows for c in contents.chunks])]).tolist()
    n_train = contents.splits["train"]
    sums = ChannelSums(contents.image_shape[0])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _reserve(fd, offsets[-1] * row_bytes)
        with contextlib.closing(decode_chunks(contents.chunks, workers, description)) as decoded:
            for index, images in decoded:
                start, rows = offsets[index], contents.chunks[index].rows
                if images.dtype != np.uint8 or images.shape != (rows, *contents.image_shape):
                    raise RuntimeError(
                        f"chunk {index} gave {images.dtype} {images.shape}, expected uint8 {(rows, *contents.image_shape)}"
                    )
                images = np.ascontiguousarray(images)
                if start < n_train:
                    sums.add(images[: n_train - start])
                _write_at(fd, memoryview(images).cast("B"), start * row_bytes)
        os.fsync(fd)
    finally:
        os.close(fd)
    mean, std = sums.stats()
    return list(mean), list(std)


def build_cached(folder: Path, name: str, contents: Contents, workers: int | None = None) -> ImageDataset:
    """Decode ``contents`` into ``folder`` atomically (see the module docstring) and open it."""
    splits = {s: contents.splits[s] for s in SPLITS if contents.splits.get(s)}
    if sum(c.rows for c in contents.chunks) != sum(splits.values()):
        raise RuntimeError("the chunks do not cover the splits")
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(folder)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    try:
        size = contents.image_shape[-1]
        mean, std = _write_images(tmp / "images.u8", contents, workers, f"decoding {name} at {size} px once")
        _save_array(tmp / "train_labels.npy", np.asarray(contents.train_labels, dtype=np.int64))
        _save_array(tmp / "test_labels.npy", np.asarray(contents.test_labels, dtype=np.int64))
        meta = {
            "version": VERSION,
            "name": name,
            "splits": splits,
            "image_shape": list(contents.image_shape),
            "classes": list(contents.classes),
            "mean": mean,
            "std": std,
        }
        atomic_write(tmp / "meta.json", lambda handle: handle.write(json.dumps(meta, indent=2).encode()))
        _fsync(tmp)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished the same cache first: use its copy
            if not (folder / "meta.json").is_file():
                raise
        _fsync(folder.parent)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            gigabytes = sum(splits.values()) * int(np.prod(contents.image_shape)) / 1e9
            raise UserError(
                f"no space left in {folder.parent} to cache {name} ({gigabytes:.1f} GB); free some space or set ADIOS_CACHE to a folder on a larger disk"
            ) from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    data = open_cached(folder, name)
    if data is None:
        raise RuntimeError(f"the cache {folder} was written but cannot be read")
    return data


def cached_dataset(
    name: str,
    size: int,
    sources: Sequence[Path],
    contents: Callable[[], Contents],
    workers: int | None = None,
    root: Path | None = None,
) -> ImageDataset:
    """``name`` at ``size`` from the cache, decoding ``contents()`` into it first when it is not there.

    ``contents`` is called only on a miss, so a cached dataset never reads its sources.
    """
    folder = cache_folder(name, size, sources, root)
    data = open_cached(folder, name)
    if data is not None:
        return data
    if folder.exists():  # a complete-looking folder that cannot be read (edited by hand, older layout): decode again
        shutil.rmtree(folder)
    return build_cached(folder, name, contents(), workers)


def backing_file(tensor: torch.Tensor) -> Path | None:
    """The file a CPU tensor's memory is mapped from (Linux ``/proc/self/maps``); None for anonymous memory."""
    address = tensor.data_ptr()
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(maxsplit=5)
        start, end = (int(a, 16) for a in fields[0].split("-"))
        if start <= address < end:
            return Path(fields[5]) if len(fields) == 6 and fields[5].startswith("/") else None
    return None
