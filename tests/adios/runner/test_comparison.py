"""The comparison: paired seeds, run keys, resumable results, the results folder."""

import json
import os
import signal
import subprocess
import sys
import time

import torch
from typer.testing import CliRunner

import masks
from adios.cli import app
from adios.engine.trainer import train
from adios.engine.views import AugmentSettings, PairedViews
from adios.runner.run import build_models, run_key
from adios.runner.settings import RunSettings
from baselines.sift_bovw import SiftBoVW

runner = CliRunner()
TINY = ["--n-train", "64", "--n-test", "32", "--epochs", "1", "--batch-size", "32"]


class Spy(masks.MaskStrategy):
    """Records the views it is asked to mask; hides a random half of the pixels (or nothing)."""

    def __init__(self, hide: bool) -> None:
        self.hide, self.seen = hide, []

    def __call__(self, images, generator, instances=None):
        self.seen.append(images.clone())
        b, _, h, w = images.shape
        if not self.hide:
            return torch.zeros(b, 1, h, w)
        return (torch.rand(b, 1, h, w, generator=generator) < 0.5).float()


def train_spy(objective, spy: Spy, data, seed: int, epochs: int) -> Spy:
    """Train ``objective`` with ``spy`` as the strategy on the views of ``seed``, batch 32; returns the spy."""
    views = PairedViews(data, AugmentSettings(), seed=seed)
    train(objective, spy, views, epochs=epochs, batch_size=32, optimizer="adamw", lr=1e-3, weight_decay=0.0, warmup=0.1)
    return spy


def test_strategies_are_paired_by_seed(tiny_shapes):
    """For one seed, two strategies see identical views in the same order and start from the same weights."""
    settings = RunSettings(n_train=96, batch_size=32, epochs=2, precision="fp32", channels_last=False)
    seen, weights = [], []
    for hide in (False, True):
        encoder, objective = build_models(settings, tiny_shapes, torch.device("cpu"))
        weights.append([p.clone() for p in encoder.parameters()])
        seen.append(train_spy(objective, Spy(hide), tiny_shapes, seed=0, epochs=2).seen)
    assert len(seen[0]) == len(seen[1]) == 6
    for x, y in zip(seen[0], seen[1], strict=True):
        assert torch.equal(x, y)
    for p, q in zip(weights[0], weights[1], strict=True):
        assert torch.equal(p, q)
    # ... and another seed gives other views
    _, objective = build_models(settings.replace(seed=1), tiny_shapes, torch.device("cpu"))
    other = train_spy(objective, Spy(False), tiny_shapes, seed=1, epochs=1)
    assert not torch.equal(other.seen[0], seen[0][0])


def test_run_key_changes_with_every_setting():
    base = RunSettings()
    assert run_key(base) == run_key(RunSettings())
    changed = [base.replace(epochs=3), base.replace(lr=0.5), base.replace(seed=1), base.replace(mask_options={"mask_area": 0.3})]
    keys = {run_key(base)} | {run_key(s) for s in changed}
    assert len(keys) == 5
    assert run_key(RunSettings.from_dict(json.loads(json.dumps(base.to_dict())))) == run_key(base)


def test_run_key_changes_when_a_strategy_default_changes(monkeypatch):
    settings = RunSettings(strategy="sift-bovw")
    before = run_key(settings)
    defaults = SiftBoVW.__init__.__defaults__  # (mask_area, words, cell_size, fit_images)
    monkeypatch.setattr(SiftBoVW.__init__, "__defaults__", (defaults[0], defaults[1] * 2, *defaults[2:]))
    assert run_key(settings) != before  # a new version's default: a new run, not the old one reused
    assert run_key(settings.replace(strategy="random-init")) == run_key(RunSettings(strategy="random-init"))


def test_results_folder_holds_every_file(tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", "--strategies", "none,random-patch", "--seeds", "2", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    for name in (
        "results.json",
        "results.csv",
        "summary.csv",
        "report.md",
        "comparison.json",
        "accuracy.png",
        "compute.png",
        "losses.png",
        "masks.png",
    ):
        assert (out / name).exists(), name
    runs = sorted((out / "runs").iterdir())
    assert len(runs) == 6  # (random-init, none, random-patch) x 2 seeds
    for run in runs:
        assert {"settings.json", "metrics.json", "model.pt", "log.txt"} <= {p.name for p in run.iterdir()}
        assert not (run / "checkpoint.pt").exists()
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("strategy,objective,encoder,seeds,linear_acc_mean") and len(summary) == 4
    report = (out / "report.md").read_text()
    assert "## Setup" in report and "## Findings" in report and "![accuracy](accuracy.png)" in report
    assert "`random-patch` (simclr, resnet-tiny)" in report
    # a second run reuses everything and says so
    again = runner.invoke(app, ["compare", "--strategies", "none,random-patch", "--seeds", "2", "--out", str(out), *TINY])
    assert again.exit_code == 0 and again.output.count("finished earlier") == 6


def test_report_rebuilds_the_table_without_training(tmp_path):
    out = tmp_path / "cmp"
    assert runner.invoke(app, ["compare", "--strategies", "none,random-patch", "--out", str(out), *TINY]).exit_code == 0
    (out / "report.md").unlink()
    for fmt, marker in [
        ("table", "random-patch"),
        ("markdown", "| strategy |"),
        ("csv", "strategy,objective"),
        ("json", '"linear_acc"'),
    ]:
        result = runner.invoke(app, ["report", str(out), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert marker in result.output
    assert (out / "report.md").exists()
    assert not list((out / "runs").glob("*/checkpoint.pt"))
    bad = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert bad.exit_code == 2 and "results.json" in bad.output


def _compare_command(out):
    return [
        sys.executable,
        "-m",
        "adios.cli",
        "compare",
        "--strategies",
        "random-patch",
        "--reference",
        "none",
        "--out",
        str(out),
    ]


def test_sigkill_then_rerun_matches_an_uninterrupted_run(tmp_path):
    args = ["--n-train", "64", "--n-test", "32", "--epochs", "4", "--batch-size", "16", "--checkpoint-every", "2"]
    env = {**os.environ, "COLUMNS": "200"}
    clean = subprocess.run([*_compare_command(tmp_path / "clean"), *args], env=env, capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr
    process = subprocess.Popen(
        [*_compare_command(tmp_path / "killed"), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while time.time() < deadline and not list((tmp_path / "killed").glob("runs/*/checkpoint.pt")):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    run_folder = next((tmp_path / "killed" / "runs").iterdir())
    assert (run_folder / "checkpoint.pt").exists() and not (run_folder / "metrics.json").exists()  # really interrupted
    resumed = subprocess.run(
        [*_compare_command(tmp_path / "killed"), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from its checkpoint" in resumed.stdout
    a = json.loads((tmp_path / "clean" / "results.json").read_text())[0]
    b = json.loads((tmp_path / "killed" / "results.json").read_text())[0]
    for key in (
        "linear_acc",
        "knn_acc",
        "knn200_acc",
        "occluded_linear_acc",
        "final_loss",
        "mask_area",
        "steps",
        "passes_per_image",
    ):
        assert a[key] == b[key], key
