"""The command line: the default flow, help, and every bad input answered in one line with exit code 2."""

import errno
import json
import subprocess
import sys

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from adios.cli import app
from adios.runner.comparison import Comparison
from adios.runner.run import run_name

runner = CliRunner()
TINY = ["--n-train", "64", "--n-test", "32", "--epochs", "1", "--batch-size", "32"]


def error_lines(output: str) -> list[str]:
    """The lines of an output, without the one-time notices of data generation and decoding (progress, not errors)."""
    return [line for line in output.splitlines() if line.strip() and not line.startswith(("generating ", "decoding "))]


def records(out):
    document = json.loads((out / "results.json").read_text())
    assert document["schema_version"] == 2
    return document["records"]


def test_tiny_compare_writes_results(tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", "--strategies", "none,random-patch", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    rows = records(out)
    assert [r["strategy"] for r in rows] == ["random-init", "none", "random-patch"]
    assert [r["kind"] for r in rows] == ["reference", "strategy", "strategy"]
    for record in rows:
        for key in (
            "objective",
            "encoder",
            "dataset",
            "seed",
            "linear_acc",
            "knn_acc",
            "hidden_fraction",
            "wall_seconds",
            "versions",
        ):
            assert key in record
        assert 0.0 <= record["linear_acc"] <= 1.0 and record["status"] == "ok"
        assert all(0.0 <= record[k] <= 1.0 for k in ("cluster_nmi", "cluster_fmi")) and -1.0 <= record["cluster_ari"] <= 1.0
    assert rows[1]["hidden_fraction"] == 0.0 and abs(rows[2]["hidden_fraction"] - 0.25) < 0.05  # quick matches areas at 0.25
    assert rows[2]["area_matched"] and not rows[1]["area_matched"]  # none takes no target area
    assert rows[1]["passes_per_image"] == 2.0 and rows[1]["steps"] == 2
    assert (out / "results.csv").read_text().startswith("strategy,")
    assert (
        "random-patch" in result.output and "linear" in result.output and "Δ NMI" in result.output
    )  # not a terminal: every column


def test_same_command_twice_gives_the_same_numbers(tmp_path):
    args = ["compare", "--strategies", "random-patch,adios-s", "--baseline", "random-patch", "--reference", "none", *TINY]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    for a, b in zip(records(tmp_path / "a"), records(tmp_path / "b"), strict=True):
        for key in ("linear_acc", "knn_acc", "final_loss", "hidden_fraction", "best_iou"):
            assert a[key] == b[key], (a["strategy"], key)


def test_compare_help_explains_every_option():
    result = runner.invoke(app, ["compare", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in (
        "--strategies",
        "--dataset",
        "--encoder",
        "--objective",
        "--epochs",
        "--seeds",
        "--preset",
        "--out",
        "--reference",
    ):
        assert option in result.output
    for generated in ("--eval-every", "--budget", "--n-masks", "--words", "--region", "--simsiam-terms", "--lars-clip"):
        assert generated in result.output  # from the settings' fields and the strategies' constructors
    assert "Examples" in result.output and "adios compare --strategies" in result.output


def test_list_shows_every_registry_in_plain_text():
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in (
        "random-patch",
        "resnet-tiny",
        "simclr",
        "byol",
        "simsiam",
        "shapes",
        "digits",
        "quick",
        "standard",
        "random-init",
        "lars",
    ):
        assert name in result.output
    assert "``" not in result.output and "(control)" in result.output


def test_match_area_off_restores_each_strategy_default(tmp_path):
    args = ["compare", "--strategies", "random-patch", "--baseline", "random-patch", "--reference", "none", "--match-area", "off"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path), *TINY])
    assert result.exit_code == 0, result.output
    (record,) = records(tmp_path)
    assert abs(record["hidden_fraction"] - 0.5) < 0.05 and "areas not matched" in result.output


def test_default_strategies_skip_what_the_dataset_cannot_run(tmp_path):
    result = runner.invoke(app, ["compare", "--dataset", "digits", "--reference", "none", "--out", str(tmp_path), *TINY])
    assert result.exit_code == 0, result.output
    assert [r["strategy"] for r in records(tmp_path)] == ["none", "random-patch", "adios-s"]
    assert "left out (the dataset cannot run them): ground-truth" in result.output


def test_supervised_reference_row_trains_through_the_trainer(tmp_path):
    result = runner.invoke(
        app, ["compare", "--strategies", "none", "--reference", "random-init,supervised", "--out", str(tmp_path), *TINY]
    )
    assert result.exit_code == 0, result.output
    rows = {r["strategy"]: r for r in records(tmp_path)}
    assert set(rows) == {"random-init", "supervised", "none"}
    assert rows["supervised"]["kind"] == "reference" and rows["supervised"]["steps"] == 2
    assert rows["supervised"]["passes_per_image"] == 1.0  # cross-entropy on view a only
    assert rows["random-init"]["steps"] == 0 and rows["supervised"]["hidden_fraction"] is None


def test_paper_preset_dry_run_prints_settings_per_objective():
    result = runner.invoke(
        app, ["compare", "--preset", "paper", "--objectives", "simclr,byol,simsiam", "--dry-run"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "nothing was trained" in result.output
    for cell in ("simclr · resnet18", "byol · resnet18", "simsiam · resnet18"):
        assert cell in result.output


def test_masks_gallery_command(tmp_path):
    out = tmp_path / "g.png"
    result = runner.invoke(app, ["masks", "--strategies", "none,random-patch,adios-s", "--n", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_option_for_one_strategy_parses_its_name():
    from adios.cli_options import parse_option

    assert parse_option("random-patch.cell-size=4") == ("random-patch.cell_size", 4)
    assert parse_option("band-height=8") == ("band_height", 8) and parse_option("mode=center") == ("mode", "center")


def test_a_bug_keeps_its_traceback_and_asks_for_a_report(tmp_path, monkeypatch):
    import adios.runner.comparison as comparison

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(comparison, "load_dataset", broken)
    result = runner.invoke(app, ["compare", "--strategies", "none", "--out", str(tmp_path), *TINY])
    assert result.exit_code == 1 and "Traceback" in result.output and "bug in adios" in result.output


def _imagefolder(root, corrupt: bool = False, empty: bool = False):
    for split in ("train", "test"):
        for c in ("a", "b"):
            folder = root / split / c
            folder.mkdir(parents=True)
            if empty and split == "train":
                continue
            for i in range(2):
                Image.new("RGB", (8, 8), (i * 80, 20, 30)).save(folder / f"{i}.png")
    if corrupt:
        (root / "train" / "a" / "bad.png").write_bytes(b"not a png at all")
    return root


def _garbage_checkpoint(tmp_path):
    out = tmp_path / "out"
    plan = Comparison(
        strategies=["none"], references=[], settings={"n_train": 64, "n_test": 32, "epochs": 1, "batch_size": 32}
    ).plan()
    folder = out / "runs" / run_name(plan.runs[0])
    folder.mkdir(parents=True)
    torch.save({"not": "a checkpoint"}, folder / "checkpoint.pt")
    return ["compare", "--strategies", "none", "--reference", "none", "--out", str(out), *TINY]


def _report_of_another_schema(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({"schema_version": 99, "records": []}))
    return ["report", str(folder)]


BAD = {
    "unknown strategy": (["compare", "--strategies", "none,bogus"], "unknown strategy 'bogus'"),
    "unknown dataset": (["compare", "--dataset", "bogus"], "unknown dataset 'bogus'"),
    "unknown encoder": (["compare", "--encoder", "bogus"], "unknown encoder 'bogus'"),
    "unknown objective": (["compare", "--objective", "bogus"], "unknown objective 'bogus'"),
    "unknown preset": (["compare", "--preset", "bogus"], "unknown preset 'bogus'"),
    "unknown reference": (["compare", "--reference", "bogus"], "unknown reference row 'bogus'"),
    "unknown baseline": (["compare", "--baseline", "bogus"], "unknown baseline strategy 'bogus'"),
    "unknown optimizer": (["compare", "--optimizer", "bogus"], "unknown optimizer 'bogus'"),
    "unknown mask norm": (["compare", "--strategies", "none,adios-s", "--mask-norm", "bogus"], "mask_norm"),
    "unknown option": (["compare", "--option", "bogus=1"], "no strategy takes the option 'bogus'"),
    "malformed option": (["compare", "--option", "nonsense"], "KEY=VALUE"),
    "empty strategies": (["compare", "--strategies", ""], "no strategy given"),
    "baseline not compared": (["compare", "--strategies", "mae,beit"], "baseline 'none' is not among the strategies"),
    "area above 1": (["compare", "--match-area", "1.5"], "--match-area"),
    "area not a number": (["compare", "--match-area", "lots"], "--match-area"),
    "one mask": (["compare", "--strategies", "none,adios-s", "--n-masks", "1"], "n_masks"),
    "image too small for the UNet": (["compare", "--strategies", "none,adios-s", "--image-size", "16"], "adios-s"),
    "image too small": (["compare", "--image-size", "4"], "--image-size"),
    "zero epochs": (["compare", "--epochs", "0"], "--epochs must be >= 1"),
    "negative epochs": (["compare", "--epochs", "-1"], "--epochs"),
    "epochs not a number": (["compare", "--epochs", "many"], "--epochs"),
    "no seeds": (["compare", "--seeds", "0"], "seeds"),
    "negative seed": (["compare", "--first-seed", "-3"], "seeds must be integers >= 0"),
    "batch of one": (["compare", "--batch-size", "1"], "--batch-size"),
    "batch above the data": (
        ["compare", "--strategies", "none", "--n-train", "64", "--batch-size", "100"],
        "larger than the 64 training images",
    ),
    "zero learning rate": (["compare", "--lr", "0"], "--lr"),
    "NaN learning rate": (["compare", "--lr", "nan"], "--lr"),
    "negative weight decay": (["compare", "--weight-decay", "-1"], "--weight-decay"),
    "jitter above 1": (["compare", "--jitter", "2"], "--jitter"),
    "crop scale reversed": (["compare", "--crop-scale", "0.9", "0.1"], "--crop-scale"),
    "bad budget": (["compare", "--budget", "hours"], "--budget"),
    "bad SimSiam terms": (["compare", "--simsiam-terms", "masked,sideways"], "--simsiam-terms"),
    "unlabeled without a split": (["compare", "--strategies", "none", "--unlabeled", *TINY], "no unlabeled split"),
    "unknown device": (["compare", "--device", "tpu"], "device"),
    "malformed shard": (["compare", "--shard", "3/2"], "--shard"),
    "zero threads": (["compare", "--threads", "0"], "--threads must be >= 1"),
    "shard not a fraction": (["compare", "--shard", "half"], "--shard"),
    "missing strategy file": (["compare", "--strategy-file", "no_such_file.py"], "--strategy-file"),
    "missing data folder": (["compare", "--dataset", "cifar10", "--data-dir", "/no/such/folder"], "cifar-10-batches-py"),
    "needs instance maps": (["compare", "--dataset", "digits", "--strategies", "none,ground-truth"], "needs instance maps"),
    "control without a class object": (
        ["compare", "--dataset", "digits", "--strategies", "none,hide-main-object"],
        "hide-main-object",
    ),
    "report of no folder": (["report", "/no/such/folder"], "not a folder"),
    "report format": (["report", ".", "--format", "yaml"], "--format"),
    "gallery of no images": (["masks", "--n", "0"], "--n must be >= 1"),
    "check of an unknown strategy": (["check-strategy", "bogus"], "unknown strategy 'bogus'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_exit_2(case, tmp_path):
    args, message = BAD[case]
    if args[0] == "compare" and "--out" not in args:
        args = [*args, "--out", str(tmp_path / "out")]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    lines = error_lines(result.output)
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert message in lines[0] and "Traceback" not in result.output


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: ["compare", "--out", str(tmp / "file.txt")], id="out is a file"),
        pytest.param(lambda tmp: ["compare", "--out", str(tmp / "file.txt" / "sub")], id="out cannot be made"),
        pytest.param(
            lambda tmp: ["compare", "--dataset", "imagefolder", "--data-dir", str(_imagefolder(tmp / "c", corrupt=True))],
            id="corrupt image",
        ),
        pytest.param(
            lambda tmp: ["compare", "--dataset", "imagefolder", "--data-dir", str(_imagefolder(tmp / "e", empty=True))],
            id="empty class folder",
        ),
        pytest.param(_garbage_checkpoint, id="not an adios checkpoint"),
        pytest.param(_report_of_another_schema, id="another schema version"),
    ],
)
def test_bad_files_and_folders_are_one_line_and_exit_2(make, tmp_path):
    (tmp_path / "file.txt").write_text("a file, not a folder")
    args = make(tmp_path)
    if args[0] == "compare" and "--out" not in args:
        args = [*args, "--strategies", "none", "--reference", "none", "--out", str(tmp_path / "out"), *TINY]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    lines = error_lines(result.output)
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output, result.output


def test_a_full_disk_is_one_line_and_exit_2(tmp_path, monkeypatch):
    import masks.atomic

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(masks.atomic.os, "fsync", full)
    result = runner.invoke(app, ["compare", "--strategies", "none", "--reference", "none", "--out", str(tmp_path / "out"), *TINY])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and lines[-1].startswith("error:") and "No space left" in lines[-1], result.output
    assert "Traceback" not in result.output


def test_the_console_script_answers_in_one_line():
    """The real entry point, in a subprocess: the same one line and exit code as in-process."""
    result = subprocess.run(
        [sys.executable, "-m", "adios", "compare", "--strategies", "bogus"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "unknown strategy 'bogus'" in result.stderr


def test_paper_preset_runs_on_stl10_files_with_the_unlabeled_split(tmp_path, stl10_dir):
    """16 labelled + 8 unlabeled fixture images: the SSL pool holds 24 (3 steps of 8), the probes the labelled 16."""
    args = [
        "compare",
        "--preset",
        "paper",
        "--data-dir",
        str(stl10_dir),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--mask-channels",
        "16",
    ]
    args += ["--strategies", "none,adios-s", "--reference", "supervised", "--out", str(tmp_path / "out")]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    rows = {r["strategy"]: r for r in records(tmp_path / "out")}
    assert rows["none"]["dataset"] == "stl10" and rows["none"]["steps"] == 3 and rows["adios-s"]["steps"] == 3
    assert rows["supervised"]["steps"] == 2  # labels exist for the 16 labelled images only
    assert rows["adios-s"]["mask_options"]["n_masks"] == 6 and rows["adios-s"]["mask_options"]["mask_optimizer"] == "lars"
    base = json.loads((tmp_path / "out" / "comparison.json").read_text())["base"]
    assert (
        base["image_size"] == 96
        and base["optimizer"] == "lars"
        and base["unlabeled"]
        and base["lr"] == pytest.approx(0.1323, rel=1e-3)
    )
    wrong = runner.invoke(app, ["compare", "--preset", "paper", "--encoder", "resnet-tiny", "--dry-run"])
    assert wrong.exit_code == 2 and "has published settings for" in wrong.output
