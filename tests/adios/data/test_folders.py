"""Loaders of real datasets, on small files written in the real on-disk formats."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from adios.data import load_dataset
from adios.errors import UserError


def write_cifar10(root, n_per_batch=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, n_per_batch))
        with open(folder / name, "wb") as handle:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, handle)
        batches[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, handle)
    return batches


def test_cifar10_reads_the_python_format(tmp_path):
    batches = write_cifar10(tmp_path)
    data = load_dataset("cifar10", tmp_path, image_size=32)
    assert data.train_images.shape == (20, 1, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
    first, labels = batches["data_batch_1"]
    assert torch.equal(data.train_images[0, 0], torch.from_numpy(first[0].reshape(3, 32, 32)))
    assert data.train_labels[:4].tolist() == [int(v) for v in labels]
    assert data.classes[:2] == ["c0", "c1"] and not data.has_instances


def test_cifar10_resizes(tmp_path):
    write_cifar10(tmp_path)
    assert load_dataset("cifar10", tmp_path, image_size=16).train_images.shape[-1] == 16


def test_cifar100_reads_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [("train", 6), ("test", 3)]:
        with open(folder / name, "wb") as handle:
            pickle.dump(
                {
                    b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                    b"fine_labels": [99, 5, 7, 1, 2, 3][:n],
                    b"coarse_labels": [0] * n,
                },
                handle,
            )
    data = load_dataset("cifar100", tmp_path)
    assert data.train_labels.tolist() == [99, 5, 7, 1, 2, 3] and data.test_images.shape[0] == 3


def test_stl10_reads_column_major_binaries(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 3, 96, 96), dtype=np.uint8)  # (N, C, H, W)
    for split in ("train", "test"):
        images.transpose(0, 1, 3, 2).tofile(folder / f"{split}_X.bin")  # STL-10 stores column-major
        np.array([1, 10, 3], dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    (folder / "class_names.txt").write_text("\n".join(f"k{i}" for i in range(10)))
    data = load_dataset("stl10", tmp_path, image_size=96)
    assert torch.equal(data.train_images[:, 0], torch.from_numpy(images))
    assert data.train_labels.tolist() == [0, 9, 2] and data.classes[9] == "k9"


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / split / cls / f"{i}.png")
    data = load_dataset("imagefolder", tmp_path, image_size=32)
    assert data.train_images.shape == (4, 1, 3, 32, 32) and data.classes == ["cat", "dog"]
    assert data.test_labels.tolist() == [0, 0, 1, 1]


def test_digits_is_embedded():
    data = load_dataset("digits", image_size=32)
    assert data.train_images.shape[2:] == (3, 32, 32)
    assert len(data.train_labels) + len(data.test_labels) == 1797
    assert set(data.test_labels.tolist()) == set(range(10))


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "stl10", "imagefolder"])
def test_missing_folder_is_a_user_error(tmp_path, name):
    with pytest.raises(UserError, match=r"--data-dir|folder"):
        load_dataset(name, tmp_path / "nowhere")
    with pytest.raises(UserError, match="--data-dir"):
        load_dataset(name, None)


def test_corrupt_cifar_file_is_a_user_error(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match="corrupt"):
        load_dataset("cifar10", tmp_path)


def test_truncated_stl_file_is_a_user_error(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    for split in ("train", "test"):
        np.zeros(1000, dtype=np.uint8).tofile(folder / f"{split}_X.bin")
        np.ones(1, dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    with pytest.raises(UserError, match="not STL-10"):
        load_dataset("stl10", tmp_path)


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(UserError, match="unknown dataset 'mnist'; choose one of: cifar10, cifar100, digits"):
        load_dataset("mnist")
