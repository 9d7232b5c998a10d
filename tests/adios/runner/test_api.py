"""The Python API owns the policy: the same checks, errors and defaults as the command line."""

from pathlib import Path

import pytest

from adios import Comparison, run_comparison
from adios.errors import UserError

TINY = {"n_train": 64, "n_test": 32, "epochs": 1, "batch_size": 32}


@pytest.mark.parametrize(
    ("comparison", "message"),
    [
        (Comparison(strategies=["none", "bogus"]), "unknown strategy 'bogus'"),
        (Comparison(settings={"epochs": 0}), "--epochs must be >= 1"),
        (Comparison(settings={"dataset": "digits"}, strategies=["none", "ground-truth"]), "needs instance maps"),
        (Comparison(match_area=2.0), "--match-area"),
        (Comparison(seeds=[]), "no seeds"),
        (Comparison(strategies=["mae"]), "baseline 'none' is not among"),
        (Comparison(settings={"colour": "red"}), "'colour' is not a setting"),
        (Comparison(mask_options={"n_masks": 1}, strategies=["none", "adios"]), "n_masks"),
        (Comparison(shard=(2, 2)), "--shard"),
    ],
)
def test_run_comparison_rejects_what_the_cli_rejects(comparison, message, tmp_path):
    with pytest.raises(UserError, match=message):
        run_comparison(comparison, tmp_path / "out")
    assert not (tmp_path / "out" / "runs").exists()  # found before any run started


def test_the_api_applies_the_preset_and_the_dataset_rules():
    plan = Comparison(settings={"dataset": "digits"}).plan()
    assert plan.comparison.strategies == ["none", "random-patch", "adios-s"] and plan.dropped == ["ground-truth"]
    assert plan.matched_area == 0.25 and plan.base.mask_options["mask_area"] == 0.25
    off = Comparison(match_area="off").plan()
    assert off.matched_area is None and "mask_area" not in off.base.mask_options
    standard = Comparison(preset="standard").plan()
    assert "hide-main-object" in standard.comparison.strategies and standard.base.eval_every > 0
    every = Comparison(strategies=["all"]).plan()
    assert "hide-main-object" not in every.comparison.strategies  # a control is not a method


def test_shards_split_the_grid():
    whole = Comparison(strategies=["none", "mae"], seeds=[0, 1]).plan()
    parts = [Comparison(strategies=["none", "mae"], seeds=[0, 1], shard=(i, 3)).plan().mine for i in range(3)]
    assert sorted((p for part in parts for p in part), key=whole.runs.index) == whole.runs


def test_run_comparison_returns_typed_records(tmp_path):
    records = run_comparison(Comparison(strategies=["none"], references=[], settings=TINY), Path(tmp_path))
    (record,) = records
    assert record.strategy == "none" and record.ok and 0 <= record.linear_acc <= 1 and record.steps == 2


def test_an_option_for_one_strategy_only():
    """``mae.mask_area`` sets MAE's own area while the others stay matched; the run keys follow."""
    import masks
    from adios.runner.run import RunIdentity

    plan = Comparison(strategies=["none", "random-patch", "mae"], mask_options={"mae.mask_area": 0.75}).plan()
    options = {s.strategy: RunIdentity.of(s).strategy_options for s in plan.runs if s.reference is None}
    assert options["mae"]["mask_area"] == 0.75 and options["random-patch"]["mask_area"] == 0.25
    assert masks.build("mae", **plan.base.mask_options).target_area == 0.75
    with pytest.raises(UserError, match="strategy 'mae' takes no option 'words'"):
        Comparison(mask_options={"mae.words": 3}).plan()
    with pytest.raises(UserError, match="unknown strategy 'maybe'"):
        Comparison(mask_options={"maybe.mask_area": 0.3}).plan()
