"""The registry pattern: built-ins, entry points from real package metadata, broken plugins, strategy files."""

import os
import subprocess
import sys
import textwrap

import pytest

import adios  # noqa: F401  (registers the built-ins)
import masks
from masks.registry import Registry, UnknownName


def _dist(site, name: str, entry_points: str, modules: dict[str, str]) -> None:
    """A installed distribution as pip leaves it: a .dist-info folder (METADATA, entry_points.txt) and its modules."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    for module, code in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(code))


GOOD = """
import torch
import masks

class Half(masks.MaskStrategy):
    '''Hides the left half.'''
    def __call__(self, images, generator, instances=None):
        m = torch.zeros(images.shape[0], 1, *images.shape[-2:], device=images.device)
        m[..., : images.shape[-1] // 2] = 1
        return m
"""
WRONG_SHAPE = """
import torch
import masks

class Tiny(masks.MaskStrategy):
    '''Returns masks of the wrong size.'''
    def __call__(self, images, generator, instances=None):
        return torch.zeros(images.shape[0], 1, 4, 4)
"""
NAN = """
import torch
import masks

class Nan(masks.MaskStrategy):
    '''Returns NaN masks.'''
    def __call__(self, images, generator, instances=None):
        return torch.full((images.shape[0], 1, *images.shape[-2:]), float("nan"))
"""


def test_plugins_from_installed_metadata_and_broken_ones(tmp_path):
    site = tmp_path / "site"
    _dist(site, "good-masks", "[adios.masks]\nhalf = good_masks:Half\n", {"good_masks": GOOD})
    _dist(site, "bad-import", "[adios.masks]\nghost = no_such_module:Ghost\n", {})
    _dist(site, "clash-masks", "[adios.masks]\nmae = clash_masks:Half\n", {"clash_masks": GOOD})
    _dist(site, "tiny-masks", "[adios.masks]\ntiny = tiny_masks:Tiny\n", {"tiny_masks": WRONG_SHAPE})
    _dist(site, "nan-masks", "[adios.masks]\nnan-mask = nan_masks:Nan\n", {"nan_masks": NAN})
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "300", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "adios", "list"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "BROKEN" not in lines["half"] and "Hides the left half" in lines["half"]
    assert "BROKEN" in lines["ghost"] and "cannot be imported" in lines["ghost"] and "bad-import" in lines["ghost"]
    assert "clashes with the strategy from baselines.mae" in lines["mae"] and "clash-masks" in lines["mae"]  # both sources
    assert "BROKEN" in lines["tiny"] and "expected (B, K, H, W)" in lines["tiny"]
    assert "BROKEN" in lines["nan-mask"] and "NaN" in lines["nan-mask"]
    assert "random-patch" in lines and "BROKEN" not in lines["random-patch"]  # the others are untouched
    check = subprocess.run(
        [sys.executable, "-m", "adios", "check-strategy", "half"], env=env, capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0 and "FAIL" not in check.stdout


def test_registry_names_both_sources_of_a_clash_and_lists_valid_names():
    def first():
        pass

    def second():
        pass

    registry = Registry("widget", "adios.test-widgets")
    registry.register("a")(first)
    with pytest.raises(ValueError, match=r"'a' is registered twice: by .*first and by .*second"):
        registry.register("a")(second)
    with pytest.raises(UnknownName, match="unknown widget 'b'; choose one of: a"):
        registry.get("b")


def test_strategy_file(tmp_path):
    path = tmp_path / "my_mask.py"
    path.write_text(GOOD + "\nmasks.register('file-half')(Half)\n")
    try:
        assert masks.load_strategy_file(path) == ["file-half"]
        assert "file-half" in masks.names()
    finally:
        masks.STRATEGIES.unregister("file-half")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="registers no strategy"):
        masks.load_strategy_file(empty)
    with pytest.raises(ValueError, match="not a Python file"):
        masks.load_strategy_file(tmp_path / "missing.py")
