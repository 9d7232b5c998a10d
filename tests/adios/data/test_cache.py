"""The decoded-image cache: memory-mapped, reused, keyed by the sources, atomic, independent of the worker count."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import adios.data.folders as folders
from adios.data import load_dataset
from adios.data.cache import backing_file, open_cached
from adios.errors import UserError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("ADIOS_CACHE", str(root))
    return root


def write_image_folder(root, per_class=3, size=32, seed=0):
    """PNGs (lossless) at ``size`` px in train/ and test/, two classes; returns {path: pixels (3, H, W)}."""
    rng = np.random.default_rng(seed)
    pixels = {}
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                array = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                path = root / split / cls / f"{i}.png"
                Image.fromarray(array).save(path)
                pixels[path] = torch.from_numpy(array).permute(2, 0, 1)
    return pixels


def test_cached_images_are_views_of_the_memory_map(cifar10_dir, cache):
    root, _ = cifar10_dir
    data = load_dataset("cifar10", root, image_size=32)
    (folder,) = [p for p in cache.iterdir() if not p.name.startswith(".")]
    mapped = folder / "images.u8"
    assert backing_file(data.train_images) == mapped and backing_file(data.test_images) == mapped
    small = data.subset(5, 2)
    assert backing_file(small.train_images) == mapped and backing_file(small.test_images) == mapped
    assert small.train_images.data_ptr() == data.train_images.data_ptr()  # a slice, not a copy
    assert mapped.stat().st_size == 24 * 3 * 32 * 32
    assert backing_file(torch.zeros(10)) is None


def test_a_cached_dataset_does_not_read_its_sources_again(cifar10_dir, cache, monkeypatch):
    root, batches = cifar10_dir
    first = load_dataset("cifar10", root)

    def refuse(path):
        raise AssertionError(f"read {path} again")

    monkeypatch.setattr(folders, "load_cifar_batch", refuse)
    again = load_dataset("cifar10", root)
    assert torch.equal(first.train_images, again.train_images) and again.classes == first.classes
    data, labels = batches["data_batch_2"]
    assert torch.equal(again.train_images[4:8, 0], torch.from_numpy(data.reshape(4, 3, 32, 32)))
    assert again.train_labels[4:8].tolist() == labels


def test_the_cache_key_follows_the_sources_and_the_size(cifar10_dir, cache):
    root, _ = cifar10_dir
    load_dataset("cifar10", root)
    load_dataset("cifar10", root, image_size=16)
    batch = root / "cifar-10-batches-py" / "data_batch_1"
    os.utime(batch, ns=(batch.stat().st_atime_ns, batch.stat().st_mtime_ns + 10**9))
    load_dataset("cifar10", root)
    names = sorted(p.name for p in cache.iterdir())
    assert (
        len(names) == 3 and sum(n.startswith("cifar10-32px-") for n in names) == 2 and not any(n.startswith(".") for n in names)
    )


def test_mean_and_std_in_the_cache_match_a_brute_force_reference(cifar10_dir, cache):
    root, batches = cifar10_dir
    data = load_dataset("cifar10", root)
    train = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32 * 32) / 255.0
    pixels = train.transpose(1, 0, 2).reshape(3, -1)
    assert np.allclose(data.mean, pixels.mean(1), atol=1e-12)
    assert np.allclose(data.std, pixels.std(1, ddof=1), atol=1e-12)
    (folder,) = cache.iterdir()
    assert json.loads((folder / "meta.json").read_text())["mean"] == list(data.mean)


def test_decoding_is_identical_whatever_the_worker_count(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "CHUNK", 2)  # several chunks from a few images
    pixels = write_image_folder(tmp_path / "images", per_class=3)
    results = []
    for workers in (1, 2, 3):
        monkeypatch.setenv("ADIOS_CACHE", str(tmp_path / f"cache{workers}"))
        results.append(load_dataset("imagefolder", tmp_path / "images", image_size=32, workers=workers))
    first = results[0]
    # at the native size, decoding is exact: the pixels written, in ImageFolder's order (class, then file name)
    expected = torch.stack([pixels[tmp_path / "images" / "train" / c / f"{i}.png"] for c in ("cat", "dog") for i in range(3)])
    assert torch.equal(first.train_images[:, 0], expected)
    assert first.train_labels.tolist() == [0, 0, 0, 1, 1, 1]
    for other in results[1:]:
        assert torch.equal(other.train_images, first.train_images) and torch.equal(other.test_images, first.test_images)
        assert other.mean == first.mean and other.std == first.std


def test_resizing_is_identical_whatever_the_worker_count(cifar10_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "CHUNK", 3)
    root, batches = cifar10_dir
    train = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    reference = folders._resize(torch.from_numpy(train), 20)  # the whole split at once, in this process
    for workers in (1, 2):
        monkeypatch.setenv("ADIOS_CACHE", str(tmp_path / f"cache{workers}"))
        data = load_dataset("cifar10", root, image_size=20, workers=workers)
        assert torch.equal(data.train_images[:, 0], reference)


def test_resizing_keeps_a_constant_image_constant(tmp_path, cache):
    images = tmp_path / "images"
    for split in ("train", "test"):
        for cls, colour in (("a", (10, 200, 30)), ("b", (250, 0, 128))):
            (images / split / cls).mkdir(parents=True)
            Image.new("RGB", (60, 45), colour).save(images / split / cls / "0.png")
    data = load_dataset("imagefolder", images, image_size=16)
    assert data.train_images.shape == (2, 1, 3, 16, 16)
    assert data.train_images[1, 0, :, 7, 9].tolist() == [250, 0, 128]
    assert bool((data.train_images[0, 0] == torch.tensor([10, 200, 30], dtype=torch.uint8).view(3, 1, 1)).all())


KILLED_BUILD = """
import os, signal, sys
import adios.data.folders as folders
from adios.data import load_dataset

decode = folders._decode_files
calls = []

def decode_then_die(paths, size):
    calls.append(1)
    if len(calls) == 2:  # the first chunk is written, the second never is
        os.kill(os.getpid(), signal.SIGKILL)
    return decode(paths, size)

folders._decode_files = decode_then_die
folders.CHUNK = 2
load_dataset("imagefolder", sys.argv[1], image_size=32, workers=1)
"""


def test_a_build_killed_half_way_is_never_read_as_complete(tmp_path, cache):
    write_image_folder(tmp_path / "images", per_class=3)
    env = {**os.environ, "PYTHONPATH": str(Path(folders.__file__).parents[2])}
    killed = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(tmp_path / "images")], env=env, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()
    (leftover,) = cache.iterdir()
    assert leftover.name.startswith(".imagefolder-32px-") and leftover.name.endswith(".tmp")
    assert (leftover / "images.u8").exists() and not (leftover / "meta.json").exists()
    assert open_cached(leftover, "imagefolder") is None
    data = load_dataset("imagefolder", tmp_path / "images", image_size=32)  # decodes again, and clears the dead build
    assert data.train_images.shape == (6, 1, 3, 32, 32)
    assert [p.name.startswith(".") for p in cache.iterdir()] == [False]


def test_a_failed_build_leaves_nothing(tmp_path, cache, monkeypatch):
    write_image_folder(tmp_path / "images", per_class=3)
    monkeypatch.setattr(folders, "CHUNK", 2)
    decode = folders._decode_files

    def fail_on_the_third(paths, size, calls=[]):  # noqa: B006
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return decode(paths, size)

    monkeypatch.setattr(folders, "_decode_files", fail_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        load_dataset("imagefolder", tmp_path / "images", image_size=32, workers=1)
    assert list(cache.iterdir()) == []


def test_an_unreadable_cache_folder_is_decoded_again(cifar10_dir, cache):
    root, _ = cifar10_dir
    first = load_dataset("cifar10", root)
    (folder,) = cache.iterdir()
    (folder / "meta.json").write_text("{ not json")
    again = load_dataset("cifar10", root)
    assert torch.equal(first.train_images, again.train_images)
    assert json.loads((folder / "meta.json").read_text())["splits"] == {"train": 20, "test": 4}


def test_decoding_shows_a_progress_bar_on_stderr(cifar10_dir, cache, capsys):
    root, _ = cifar10_dir
    load_dataset("cifar10", root, workers=1)
    assert "decoding cifar10 at 32 px" in capsys.readouterr().err
    load_dataset("cifar10", root, workers=1)
    assert capsys.readouterr().err == ""  # a cached load is silent


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_image_stops_the_run_naming_the_file(tmp_path, cache, workers, damage):
    write_image_folder(tmp_path / "images", per_class=3)
    bad = tmp_path / "images" / "train" / "dog" / "1.jpg"
    buffer = tmp_path / "whole.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer)
    bad.write_bytes(b"\x00 not an image" if damage == "garbage" else buffer.read_bytes()[:600])
    with pytest.raises(UserError) as error:
        load_dataset("imagefolder", tmp_path / "images", image_size=32, workers=workers)
    message = str(error.value)
    assert str(bad) in message and "remove or replace the file" in message and "\n" not in message
    assert [p for p in cache.iterdir()] == []  # nothing half-written is left


def test_workers_must_be_positive(cifar10_dir):
    with pytest.raises(UserError, match="at least 1"):
        load_dataset("cifar10", cifar10_dir[0], workers=0)
