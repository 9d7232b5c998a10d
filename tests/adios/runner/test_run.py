"""One run: failures are isolated and recorded; provenance is recorded; a run's folder is named by its key."""

import json

from typer.testing import CliRunner

from adios.cli import app
from adios.reporting.outputs import load_folder

runner = CliRunner()
TINY = ["--n-train", "64", "--n-test", "32", "--epochs", "2", "--batch-size", "32"]


def test_a_diverging_run_is_failed_and_the_others_complete(tmp_path):
    """A mask learning rate of 1e10 makes ADIOS-s's loss NaN; `none` trains on, and the table says which failed."""
    args = ["compare", "--strategies", "none,adios-s", "--mask-lr", "1e10", "--out", str(tmp_path), *TINY]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    records, _, missing = load_folder(tmp_path)
    by_name = {r.strategy: r for r in records}
    assert not missing and by_name["none"].ok and by_name["random-init"].ok
    failed = by_name["adios-s"]
    assert failed.status == "failed" and "NaN loss at step" in failed.failure and failed.linear_acc is None
    assert "failed (NaN loss at step" in result.output  # the table names the failure instead of a number
    report = (tmp_path / "report.md").read_text()
    assert "`adios-s` (simclr, resnet-tiny): every run failed" in report


def test_collapsed_features_are_named_as_collapse(tmp_path):
    """BYOL at learning rate 5 collapses on this tiny set: the run is failed, its reason is collapse."""
    args = ["compare", "--strategies", "none", "--objective", "byol", "--lr", "5", "--out", str(tmp_path), *TINY]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    records, _, _ = load_folder(tmp_path)
    byol = next(r for r in records if r.strategy == "none")
    assert byol.status == "failed" and byol.failure.startswith("collapsed features") and byol.feature_std < 0.05
    assert "collapsed" in result.output
    untrained = next(r for r in records if r.strategy == "random-init")
    assert untrained.ok and untrained.feature_std > 0.1  # an untrained encoder is not collapsed


def test_provenance_is_recorded(tmp_path):
    assert (
        runner.invoke(app, ["compare", "--strategies", "none", "--reference", "none", "--out", str(tmp_path), *TINY]).exit_code
        == 0
    )
    (record,) = json.loads((tmp_path / "results.json").read_text())["records"]
    assert set(record["versions"]) == {"adios", "torch", "torchvision", "kornia", "scikit-learn"}
    assert record["threads"] >= 1 and record["device"] == "cpu" and record["key"] in record["run"]


def test_a_compute_budget_gives_each_strategy_the_baseline_passes(tmp_path):
    """ADIOS-s does 4 encoder passes per image where `none` does 2: under --budget compute it trains half the steps."""
    args = ["compare", "--strategies", "none,adios-s", "--budget", "compute", "--reference", "none", "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--n-train", "64", "--n-test", "32", "--epochs", "4", "--batch-size", "16"])
    assert result.exit_code == 0, result.output
    records, info, _ = load_folder(tmp_path)
    steps = {r.strategy: r.steps for r in records}
    assert steps == {"none": 16, "adios-s": 8} and all(r.budget == "compute" for r in records)
    none, adios_s = sorted(records, key=lambda r: r.strategy != "none")
    assert none.encoder_passes == adios_s.encoder_passes  # equal counted passes
    assert adios_s.work > none.work  # the occlusion model's share is on top
    assert info["budget"] == "compute" and "equal compute" in result.output


def test_results_are_readable_by_others(tmp_path):
    """Atomic writes keep the umask's permissions (0644 under umask 022), not mkstemp's 0600."""
    import os

    old = os.umask(0o022)
    try:
        import importlib

        import masks.atomic

        importlib.reload(masks.atomic)  # the module reads the umask once, at import
        assert (
            runner.invoke(
                app, ["compare", "--strategies", "none", "--reference", "none", "--out", str(tmp_path), *TINY]
            ).exit_code
            == 0
        )
        for path in [tmp_path / "results.json", tmp_path / "report.md", *(tmp_path / "runs").glob("*/metrics.json")]:
            assert path.stat().st_mode & 0o777 == 0o644, path
    finally:
        os.umask(old)
        importlib.reload(masks.atomic)
