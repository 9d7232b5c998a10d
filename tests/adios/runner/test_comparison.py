"""The comparison: paired seeds, run keys, resumable results, the results folder."""

import json
import os
import random
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
from adios.runner.run import build_models
from adios.runner.settings import RunSettings

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


def test_results_folder_holds_every_file(tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(
        app, ["compare", "--strategies", "none,random-patch", "--seeds", "2", "--eval-every", "1", "--out", str(out), *TINY]
    )
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
        "curves.png",
        "masks.png",
    ):
        assert (out / name).exists(), name
    runs = sorted((out / "runs").iterdir())
    assert len(runs) == 6  # (random-init, none, random-patch) x 2 seeds
    for run in runs:
        assert {"settings.json", "metrics.json", "model.pt", "log.txt"} <= {p.name for p in run.iterdir()}
        assert not (run / "checkpoint.pt").exists()
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("strategy,objective,encoder,kind,seeds,failed,linear_acc_mean") and len(summary) == 4
    assert "delta_linear_acc_mde" in summary[0] and "curve_gain_last_fifth" in summary[0]
    report = (out / "report.md").read_text()
    assert "## Setup" in report and "## Findings" in report and "![accuracy](accuracy.png)" in report
    assert "`random-patch` (simclr, resnet-tiny)" in report and "smallest true Δ detectable with 80% power" in report
    assert "seeds." in report and "## Learning curves" in report and "![curves](curves.png)" in report
    for record in json.loads((out / "results.json").read_text())["records"]:
        if record["kind"] != "reference":
            assert [p["epoch"] for p in record["curve"]] == [0.0, 1.0]  # the curve: before training and after epoch 1
            assert set(record["curve"][0]) == {"epoch", "step", "encoder_passes", "knn_acc"}
    # a second run reuses everything and says so
    args = ["compare", "--strategies", "none,random-patch", "--seeds", "2", "--eval-every", "1", "--out", str(out), *TINY]
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and again.output.count("finished earlier") == 6
    # a run's key covers only what can change it: another area retrains random-patch, not none nor random-init
    other_area = runner.invoke(app, [*args, "--match-area", "0.4"])
    assert other_area.exit_code == 0 and other_area.output.count("finished earlier") == 4


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


def test_report_of_an_interrupted_folder_lists_the_missing_runs(tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", "--strategies", "none,random-patch", "--out", str(out), *TINY]
    assert runner.invoke(app, args).exit_code == 0
    (out / "results.json").unlink()  # as if killed before the end: runs on disk, no results file
    missing = next(p for p in (out / "runs").iterdir() if p.name.startswith("random-patch"))
    (missing / "metrics.json").unlink()
    result = runner.invoke(app, ["report", str(out)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "1 planned runs are not finished" in result.output and missing.name in result.output
    assert "random-patch" not in result.output.split("not finished")[0]  # no row for it
    assert "not finished" in (out / "report.md").read_text()


def test_report_warns_when_a_folder_mixes_versions(tmp_path):
    out = tmp_path / "cmp"
    assert runner.invoke(app, ["compare", "--strategies", "none,random-patch", "--out", str(out), *TINY]).exit_code == 0
    path = next((out / "runs").glob("random-patch-*/metrics.json"))
    record = json.loads(path.read_text())
    record["versions"]["torch"] = "0.0.1"
    path.write_text(json.dumps(record))
    result = runner.invoke(app, ["report", str(out)], env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "mixes versions" in result.output


def _compare(out, *extra, env=None):
    args = ["--strategies", "random-patch,adios-s", "--baseline", "random-patch", "--reference", "none", "--n-train", "64"]
    args += ["--n-test", "32", "--epochs", "3", "--batch-size", "16", "--checkpoint-every", "2", "--out", str(out), *extra]
    environment = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", **(env or {})}
    return [sys.executable, "-m", "adios", "compare", *args], environment


METRICS = (
    "linear_acc",
    "knn_acc",
    "knn200_acc",
    "occluded_linear_acc",
    "final_loss",
    "hidden_fraction",
    "best_iou",
    "steps",
    "encoder_passes",
)


def _metrics(out):
    records = json.loads((out / "results.json").read_text())["records"]
    return [{k: r[k] for k in ("strategy", *METRICS)} for r in records]


def test_kill_anywhere_then_resume_matches_an_uninterrupted_run(tmp_path):
    """SIGKILL at chosen atomic writes (checkpoints, metrics, results) and at random moments, then resume."""
    command, env = _compare(tmp_path / "clean")
    assert subprocess.run(command, env=env, capture_output=True, timeout=900).returncode == 0
    killed = tmp_path / "killed"
    command, env = _compare(killed)
    rng = random.Random(0)
    kills = 0
    for write in (3, 9, 14, 2):  # the 2nd-3rd writes are settings/checkpoints, later ones checkpoints, metrics, results
        result = subprocess.run(command, env={**env, "ADIOS_CRASH_AT_WRITE": str(write)}, capture_output=True, timeout=900)
        kills += result.returncode == -signal.SIGKILL
    for _ in range(2):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 9.0))
        process.send_signal(signal.SIGKILL)
        kills += process.wait() == -signal.SIGKILL
    assert kills >= 4  # the crash points really killed the process
    for path in killed.rglob("*.json"):
        json.loads(path.read_text())  # no partial file is ever in place of a complete one
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr
    assert _metrics(killed) == _metrics(tmp_path / "clean")


def test_two_processes_on_one_folder_train_each_run_once(tmp_path):
    out = tmp_path / "shared"
    command, env = _compare(out)
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=900) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    for log in (out / "runs").glob("*/log.txt"):
        assert log.read_text().count("starting run") == 1, log.read_text()  # trained once; the other process waited
    assert len(_metrics(out)) == 2


def test_shards_merge_to_the_unsharded_results(tmp_path):
    command, env = _compare(tmp_path / "whole")
    assert subprocess.run(command, env=env, capture_output=True, timeout=900).returncode == 0
    sharded = tmp_path / "sharded"
    shards = [
        subprocess.Popen(_compare(sharded, "--shard", f"{i}/2")[0], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for i in (0, 1)
    ]
    assert [p.wait(timeout=900) for p in shards] == [0, 0]
    result = runner.invoke(app, ["report", str(sharded), "--format", "json"])
    assert result.exit_code == 0 and "not finished" not in result.output
    assert _metrics(sharded) == _metrics(tmp_path / "whole")
    again = subprocess.run(_compare(sharded)[0], env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and again.stdout.count("finished earlier: reused") == 2  # nothing retrained


def test_a_results_file_cannot_point_outside_its_folder(tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "comparison.json").write_text(json.dumps({"runs": ["../../etc"], "base": {}}))
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 2 and "outside its runs/ folder" in result.output
