"""Settings, presets and run keys: a key covers what can change a run, and nothing else."""

import json

import pytest

from adios.errors import UserError
from adios.runner.presets import PRESETS, get_preset, preset
from adios.runner.run import RunIdentity
from adios.runner.settings import RunSettings, flag_fields, run_key
from baselines.sift_bovw import SiftBoVW


def key(settings: RunSettings) -> str:
    return RunIdentity.of(settings).key


def test_the_key_changes_with_what_changes_a_trained_run():
    base = RunSettings(strategy="random-patch")
    changed = [base.replace(epochs=3), base.replace(lr=0.5), base.replace(seed=1), base.replace(mask_options={"mask_area": 0.3})]
    assert len({key(base), *map(key, changed)}) == 5
    assert key(RunSettings.from_dict(json.loads(json.dumps(base.to_dict())))) == key(base)


def test_the_key_ignores_what_cannot_change_the_run():
    none = RunSettings(strategy="none")
    assert key(none) == key(none.replace(mask_options={"mask_area": 0.4, "n_masks": 9}))  # none takes no option
    untrained = RunSettings(reference="random-init")
    assert key(untrained) == key(untrained.replace(epochs=30, lr=3.0, budget="compute", mask_options={"mask_area": 0.5}))
    assert key(untrained) != key(untrained.replace(seed=1)) and key(untrained) != key(untrained.replace(encoder="resnet18"))
    assert key(none) == key(none.replace(budget_baseline="mae"))  # the budget's baseline counts only under --budget compute
    assert key(none.replace(budget="compute")) == key(none)  # the baseline trains its epochs under either budget
    assert key(none.replace(budget="compute")) != key(none.replace(budget="compute", budget_baseline="mae"))
    mae = RunSettings(strategy="mae")
    assert key(mae.replace(budget="compute")) != key(mae)
    assert key(none) == key(none.replace(curve_train=10))  # the curve subset counts only with a curve
    supervised = RunSettings(reference="supervised")
    assert key(supervised) != key(supervised.replace(epochs=3))  # a reference that trains depends on its budget


def test_a_changed_strategy_default_is_a_new_run(monkeypatch):
    settings = RunSettings(strategy="sift-bovw")
    before = key(settings)
    defaults = SiftBoVW.__init__.__defaults__  # (mask_area, words, cell_size, fit_images)
    monkeypatch.setattr(SiftBoVW.__init__, "__defaults__", (defaults[0], defaults[1] * 2, *defaults[2:]))
    assert key(settings) != before


def test_run_key_is_a_pure_function():
    assert run_key(RunSettings(), {"a": 1}) == run_key(RunSettings(), {"a": 1}) != run_key(RunSettings(), {"a": 2})


@pytest.mark.parametrize(
    ("change", "flag"),
    [
        ({"epochs": 0}, "--epochs"),
        ({"lr": float("inf")}, "--lr"),
        ({"crop_scale": (0.9, 0.2)}, "--crop-scale"),
        ({"budget": "x"}, "--budget"),
    ],
)
def test_validate_names_the_flag(change, flag):
    with pytest.raises(UserError, match=flag):
        RunSettings().replace(**change).validate()


def test_presets_resolve_per_objective_and_encoder():
    quick = preset("quick")
    assert quick.mask_options["mask_area"] == 0.25 and quick.encoder == "resnet-tiny"
    paper = get_preset("paper")
    assert paper.encoder == "resnet18"
    for objective in ("simclr", "byol", "simsiam"):
        resolved = paper.resolve(objective, "resnet18")
        assert resolved.objective == objective and resolved.dataset == "stl10" and resolved.image_size == 96
    overridden = get_preset("quick").resolve("simclr", "resnet-tiny", epochs=3, mask_options={"n_masks": 6})
    assert overridden.epochs == 3 and overridden.mask_options == {**quick.mask_options, "n_masks": 6}
    with pytest.raises(UserError, match="unknown preset 'slow'"):
        get_preset("slow")
    assert set(PRESETS) >= {"quick", "standard", "paper"}


def test_every_flag_has_help_and_a_group():
    for f in flag_fields():
        assert f.metadata["help"] and f.metadata["group"]
