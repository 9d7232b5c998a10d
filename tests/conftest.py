"""Shared fixtures: a tiny cached `shapes` dataset and a CPU-friendly thread count."""

from __future__ import annotations

import pytest
import torch

from adios.data.shapes import make_shapes

torch.set_num_threads(2)


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
