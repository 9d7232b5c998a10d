"""The published STL-10 settings (adios/runner/paper.py): complete, sourced, and usable by the ADIOS code."""

import dataclasses

import pytest

import adios  # noqa: F401  (registers the strategies)
import masks
from adios.engine.objectives.simsiam import check_terms
from adios.runner.paper import PAPER, SOURCES
from adios.runner.settings import RunSettings

KEYS = [(o, e) for o in ("simclr", "byol", "simsiam") for e in ("resnet18", "vit-tiny")]


def flat_names(entry: dict) -> set[str]:
    names = {k for k in entry if k != "mask_options"}
    return names | {f"mask_options.{k}" for k in entry["mask_options"]}


def test_every_objective_and_encoder_is_there():
    assert sorted(PAPER) == sorted(KEYS) and sorted(SOURCES) == sorted(KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_every_value_has_a_published_source(key):
    assert flat_names(PAPER[key]) == set(SOURCES[key])
    for name, source in SOURCES[key].items():
        assert source.startswith(("bash_files/", "src/")), (name, source)
    assert (PAPER[key]["objective"], PAPER[key]["encoder"]) == key


@pytest.mark.parametrize("key", KEYS)
def test_mask_options_build_the_published_occlusion_model(key):
    entry = PAPER[key]
    strategy = masks.build(entry["strategy"], image_size=entry["image_size"], **entry["mask_options"])
    assert strategy.options == {"image_size": entry["image_size"], **entry["mask_options"]}  # every key is taken
    blocks = {("simsiam", "vit-tiny"): 4}.get(key, 5)  # 5 = int(log2(96) - 1), or the script's --num_blocks
    assert strategy.occlusion.unet.levels == blocks
    assert strategy.n_masks == entry["mask_options"]["n_masks"] and strategy.alpha == entry["mask_options"]["alpha_sparsity"]


@pytest.mark.parametrize("key", KEYS)
def test_values_agree_with_each_other(key):
    entry = PAPER[key]
    assert entry["mask_options"]["mask_weight_decay"] == entry["weight_decay"]  # as published: the encoder's
    assert entry["warmup"] == entry["warmup_epochs"] / entry["epochs"]
    assert entry["mask_warmup"] == entry["warmup_epochs"] / entry["epochs"]
    if "jitter" in entry:  # RunSettings' single strength s: brightness, contrast, saturation s, hue s / 4
        s = entry["jitter"]
        assert entry["color_jitter"] == (s, s, s, s / 4)
    if key[0] == "simsiam":
        assert check_terms(entry["simsiam_terms"]) == entry["simsiam_terms"]


@pytest.mark.parametrize("key", KEYS)
def test_shared_names_are_run_settings_fields(key):
    """The values under RunSettings' own names fit those fields (the rest are new names, docs/method.md §10)."""
    fields = {f.name for f in dataclasses.fields(RunSettings)}
    shared = {k: v for k, v in PAPER[key].items() if k in fields}
    assert {"dataset", "strategy", "objective", "encoder", "epochs", "batch_size", "lr", "weight_decay"} <= set(shared)
    settings = RunSettings().replace(**shared)
    assert all(getattr(settings, k) == v for k, v in shared.items())
