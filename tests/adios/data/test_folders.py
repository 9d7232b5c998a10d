"""Loaders of real datasets, on small files written in the real on-disk formats."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from adios.data import load_dataset
from adios.errors import UserError


def test_cifar10_reads_the_python_format(cifar10_dir):
    root, batches = cifar10_dir
    data = load_dataset("cifar10", root, image_size=32)
    assert data.train_images.shape == (20, 1, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
    first, labels = batches["data_batch_1"]
    assert torch.equal(data.train_images[0, 0], torch.from_numpy(first[0].reshape(3, 32, 32)))
    assert data.train_labels[:4].tolist() == [int(v) for v in labels]
    test, test_labels = batches["test_batch"]
    assert (
        torch.equal(data.test_images, torch.from_numpy(test.reshape(4, 3, 32, 32))) and data.test_labels.tolist() == test_labels
    )
    assert data.classes[:2] == ["c0", "c1"] and not data.has_instances and not data.has_unlabeled


def test_cifar10_resizes(cifar10_dir):
    assert load_dataset("cifar10", cifar10_dir[0], image_size=16).train_images.shape[-1] == 16


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


def test_corrupt_cifar_file_is_a_user_error(cifar10_dir):
    root, _ = cifar10_dir
    (root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match=r"data_batch_3 .*corrupt"):
        load_dataset("cifar10", root)


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


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "stl10", "imagefolder"])
def test_the_missing_folder_message_reads_well(tmp_path, name):
    with pytest.raises(UserError) as error:
        load_dataset(name, tmp_path)
    message = str(error.value)
    assert "the the" not in message and "\n" not in message and f"in {tmp_path}: put the " in message


def test_a_missing_cifar_batch_is_named(cifar10_dir):
    root, _ = cifar10_dir
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(
        UserError, match=r"missing file .*test_batch: the dataset folder is incomplete; extract the archive again"
    ):
        load_dataset("cifar10", root)


def test_a_missing_stl_file_is_named(stl10_dir):
    (stl10_dir / "stl10_binary" / "test_y.bin").unlink()
    with pytest.raises(UserError, match=r"missing file .*test_y\.bin"):
        load_dataset("stl10", stl10_dir)


def test_an_empty_stl_file_is_a_user_error(stl10_dir):
    (stl10_dir / "stl10_binary" / "train_X.bin").write_bytes(b"")
    (stl10_dir / "stl10_binary" / "train_y.bin").write_bytes(b"")
    with pytest.raises(UserError, match=r"train_X\.bin is not STL-10 binary data \(0 bytes"):
        load_dataset("stl10", stl10_dir)


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path)


def test_an_image_folder_without_class_folders_is_a_user_error(tmp_path):
    (tmp_path / "train").mkdir()
    _image(tmp_path / "test" / "a" / "0.png")
    with pytest.raises(UserError, match=r"no class sub-folders in .*train: put the images in"):
        load_dataset("imagefolder", tmp_path)


def test_a_class_folder_without_images_is_a_user_error(tmp_path):
    _image(tmp_path / "train" / "a" / "0.png")
    (tmp_path / "train" / "b").mkdir()
    (tmp_path / "train" / "b" / "notes.txt").write_text("not an image")
    _image(tmp_path / "test" / "a" / "0.png")
    _image(tmp_path / "test" / "b" / "0.png")
    with pytest.raises(UserError) as error:
        load_dataset("imagefolder", tmp_path)
    message = str(error.value)
    assert f"class folder {tmp_path / 'train' / 'b'} has no images" in message and "add images or remove the folder" in message


def test_an_image_folder_without_a_test_split_is_a_user_error(tmp_path):
    _image(tmp_path / "train" / "a" / "0.png")
    with pytest.raises(UserError, match="no test/ or val/ folder"):
        load_dataset("imagefolder", tmp_path)


def test_stl10_unlabeled_extends_the_ssl_pool(stl10_dir):
    folder = stl10_dir / "stl10_binary"
    unlabeled = np.fromfile(folder / "unlabeled_X.bin", dtype=np.uint8).reshape(8, 3, 96, 96).transpose(0, 1, 3, 2)
    train = np.fromfile(folder / "train_X.bin", dtype=np.uint8).reshape(16, 3, 96, 96).transpose(0, 1, 3, 2)
    labelled = load_dataset("stl10", stl10_dir, image_size=96)
    assert not labelled.has_unlabeled and labelled.ssl_images is labelled.train_images
    data = load_dataset("stl10", stl10_dir, image_size=96, unlabeled=True)
    assert data.ssl_images.shape == (24, 1, 3, 96, 96) and data.train_images.shape == (16, 1, 3, 96, 96)
    assert torch.equal(data.ssl_images[:16, 0], torch.from_numpy(train)) and torch.equal(
        data.ssl_images[16:, 0], torch.from_numpy(unlabeled)
    )
    assert data.ssl_images.data_ptr() == data.train_images.data_ptr()  # one map: train is a view of the pool
    assert data.ssl_labels.tolist() == [*(np.arange(16) % 10).tolist(), *([-1] * 8)]
    assert (
        torch.equal(data.test_images, labelled.test_images) and data.mean == labelled.mean
    )  # statistics of the labelled train split
    small = data.subset(4, 2)
    assert small.train_images.shape[0] == 4 and small.ssl_images.shape[0] == 24 and small.ssl_labels[4:].eq(-1).all()


def test_stl10_unlabeled_resizes(stl10_dir):
    data = load_dataset("stl10", stl10_dir, image_size=32, unlabeled=True)
    assert data.ssl_images.shape == (24, 1, 3, 32, 32) and data.test_images.shape == (16, 3, 32, 32)


def test_a_missing_unlabeled_file_is_named(stl10_dir):
    (stl10_dir / "stl10_binary" / "unlabeled_X.bin").unlink()
    assert load_dataset("stl10", stl10_dir).ssl_images.shape[0] == 16  # not needed without --unlabeled
    with pytest.raises(UserError, match=r"missing file .*unlabeled_X\.bin: --unlabeled needs"):
        load_dataset("stl10", stl10_dir, unlabeled=True)


@pytest.mark.parametrize("name", ["shapes", "digits", "cifar10", "cifar100", "imagefolder"])
def test_a_dataset_without_an_unlabeled_split_says_so(name):
    with pytest.raises(UserError, match=f"^dataset {name} has no unlabeled split; drop --unlabeled$"):
        load_dataset(name, unlabeled=True)
