"""CIFAR batches are unpickled without running code from the file."""

import os
import pickle

import numpy as np
import pytest
import torch

from adios.data import load_dataset
from adios.data.safe_pickle import load_cifar_batch
from adios.errors import UserError


class RunsAShellCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_would_run_a_command_is_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": RunsAShellCommand(marker)}))
    with pytest.raises(UserError) as error:
        load_cifar_batch(path)
    message = str(error.value)
    assert message == (
        f"{path} is not a CIFAR batch: it asks to load {os.system.__module__}.system; refusing to run code from a data file"
    )
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the unrestricted unpickler would run it: the test's pickle is live
    assert marker.exists()


@pytest.mark.parametrize("name", ["builtins.eval", "numpy.load", "copyreg._reconstructor", "subprocess.Popen"])
def test_only_the_cifar_format_names_resolve(tmp_path, name):
    module, attribute = name.rsplit(".", 1)
    path = tmp_path / "batch"
    path.write_bytes(b"\x80\x02c" + f"{module}\n{attribute}\n".encode() + b"q\x00.")  # protocol 2: GLOBAL module name
    with pytest.raises(UserError, match=f"asks to load {name}; refusing"):
        load_cifar_batch(path)


def test_a_cifar_folder_with_a_crafted_batch_is_refused(cifar10_dir, tmp_path):
    root, _ = cifar10_dir
    marker = tmp_path / "ran"
    (root / "cifar-10-batches-py" / "data_batch_4").write_bytes(pickle.dumps({b"data": RunsAShellCommand(marker)}))
    with pytest.raises(UserError, match="data_batch_4 is not a CIFAR batch"):
        load_dataset("cifar10", root)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_real_format_batches_load_at_every_protocol(tmp_path, protocol):
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    batch = {
        b"batch_label": b"training batch 1 of 5",
        b"labels": [3, np.int64(7)],
        b"data": data,
        b"filenames": [b"a.png", b"b.png"],
    }
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    loaded = load_cifar_batch(path)
    assert np.array_equal(loaded[b"data"], data) and loaded[b"data"].dtype == np.uint8
    assert loaded[b"labels"] == [3, 7] and loaded[b"filenames"] == [b"a.png", b"b.png"]


def test_numpy_1_module_names_load(tmp_path):
    """The real files were written by numpy 1, whose array functions live in numpy.core, not numpy._core."""
    data = np.arange(3072, dtype=np.uint8).reshape(1, 3072)
    raw = pickle.dumps({b"data": data, b"labels": [np.int64(4)]}, protocol=2)
    assert b"numpy._core.multiarray" in raw
    path = tmp_path / "batch"
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    loaded = load_cifar_batch(path)
    assert np.array_equal(loaded[b"data"], data) and loaded[b"labels"] == [4]


def test_cifar100_loads_through_the_restricted_unpickler(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    written = {}
    for name, n in [("train", 6), ("test", 3)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        fine = [99, 5, 7, 1, 2, 3][:n]
        with open(folder / name, "wb") as handle:
            pickle.dump({b"data": data, b"fine_labels": fine, b"coarse_labels": [0] * n}, handle, protocol=2)
        written[name] = data
    with open(folder / "meta", "wb") as handle:
        pickle.dump({b"fine_label_names": [f"f{i}".encode() for i in range(100)]}, handle, protocol=2)
    loaded = load_dataset("cifar100", tmp_path)
    assert loaded.train_labels.tolist() == [99, 5, 7, 1, 2, 3] and loaded.classes[99] == "f99"
    assert torch.equal(loaded.test_images, torch.from_numpy(written["test"].reshape(3, 3, 32, 32)))


def test_a_batch_that_is_not_a_dict_is_refused(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(UserError, match="not a CIFAR batch"):
        load_cifar_batch(path)
