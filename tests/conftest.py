"""Shared fixtures: a tiny cached `shapes` dataset and a CPU-friendly thread count."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from adios.data.shapes import make_shapes

# ADIOS_TEST_THREADS=1 leaves the other core to a job running beside the tests.
torch.set_num_threads(int(os.environ.get("ADIOS_TEST_THREADS", "2")))


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Generated data goes to a per-session temporary cache, never the user's ~/.cache."""
    monkeypatch.setenv("ADIOS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def tiny_shapes(tmp_path_factory):
    return make_shapes(n_train=96, n_test=48, size=32, renders=2, cache_dir=tmp_path_factory.mktemp("shapes"))


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread is faster, and on a shared CPU far faster than two spinning ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def stl10_dir(tmp_path):
    """A folder holding a tiny STL-10 in its binary format (16 train, 16 test and 8 unlabeled images, 96 px)."""
    folder = tmp_path / "data" / "stl10_binary"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        rng.integers(0, 256, (16, 3, 96, 96), dtype=np.uint8).transpose(0, 1, 3, 2).tofile(folder / f"{split}_X.bin")
        (np.arange(16) % 10 + 1).astype(np.uint8).tofile(folder / f"{split}_y.bin")
    rng.integers(0, 256, (8, 3, 96, 96), dtype=np.uint8).transpose(0, 1, 3, 2).tofile(folder / "unlabeled_X.bin")
    return folder.parent


@pytest.fixture
def cifar10_dir(tmp_path):
    """A folder holding a tiny CIFAR-10 in the "python version" format, as the real files are pickled:
    dicts with bytes keys holding a uint8 array ``data`` (N, 3072) and a list of int ``labels``.

    Returns the folder (the --data-dir) and the batches written, ``{file name: (data, labels)}``.
    """
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, 4)]
        with open(folder / name, "wb") as handle:
            pickle.dump(
                {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * 4},
                handle,
                protocol=2,
            )
        batches[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)], b"num_vis": 3072}, handle, protocol=2)
    return folder.parent, batches
