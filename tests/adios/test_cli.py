import json

import pytest
import torch
from typer.testing import CliRunner

from adios.cli import app

runner = CliRunner()
TINY = ["--n-train", "64", "--n-test", "32", "--epochs", "1", "--batch-size", "32"]


def test_tiny_compare_writes_results(tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", "--strategies", "none,random-patch", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    records = json.loads((out / "results.json").read_text())
    assert [r["strategy"] for r in records] == ["random-init", "none", "random-patch"]
    for record in records:
        for key in ("strategy", "objective", "encoder", "dataset", "seed", "linear_acc", "knn_acc", "mask_area", "wall_seconds"):
            assert key in record
        assert 0.0 <= record["linear_acc"] <= 1.0
    assert records[1]["mask_area"] == 0.0 and abs(records[2]["mask_area"] - 0.25) < 0.05  # the quick preset matches areas at 0.25
    assert records[1]["passes_per_image"] == 2.0
    assert (out / "results.csv").read_text().startswith("strategy,")
    assert "random-patch" in result.output and "linear" in result.output and "hidden" in result.output


def test_same_command_twice_gives_the_same_numbers(tmp_path):
    args = ["compare", "--strategies", "random-patch,adios-s", "--reference", "none", *TINY]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert first.exit_code == 0 and second.exit_code == 0
    for a, b in zip(*(json.loads((tmp_path / d / "results.json").read_text()) for d in "ab"), strict=True):
        for key in ("linear_acc", "knn_acc", "final_loss", "mask_area", "best_iou"):
            assert a[key] == b[key], (a["strategy"], key)


@pytest.mark.parametrize(
    ("flag", "value", "kind"),
    [
        ("--strategies", "none,bogus", "strategy"),
        ("--dataset", "bogus", "dataset"),
        ("--encoder", "bogus", "encoder"),
        ("--objective", "bogus", "objective"),
        ("--preset", "bogus", "preset"),
    ],
)
def test_unknown_names_are_one_line_errors(tmp_path, flag, value, kind):
    result = runner.invoke(app, ["compare", flag, value, "--out", str(tmp_path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and f"unknown {kind} 'bogus'" in lines[0] and "choose one of" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("flag", "value"), [("--epochs", "-1"), ("--match-area", "1.5"), ("--seeds", "0"), ("--lr", "0")])
def test_bad_values_are_one_line_errors(tmp_path, flag, value):
    result = runner.invoke(app, ["compare", flag, value, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "error:" in result.output and flag.split("-")[-1] in result.output and "Traceback" not in result.output


def test_unavailable_device_is_a_one_line_error(tmp_path):
    for device, message in [("tpu", "device"), ("cuda", "no CUDA GPU")] if not torch.cuda.is_available() else [("tpu", "device")]:
        result = runner.invoke(app, ["compare", "--strategies", "none", "--device", device, "--out", str(tmp_path), *TINY])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("flags", "message"), [(["--cell-size", "3"], "cell_size 3 px"), (["--image-size", "12"], "at least 16 px")]
)
def test_sift_cells_too_small_are_one_line_errors(tmp_path, flags, message):
    result = runner.invoke(app, ["train", "--strategy", "sift-bovw", *flags, "--out", str(tmp_path), *TINY])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_missing_data_folder_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["compare", "--dataset", "cifar10", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "cifar-10-batches-py" in result.output


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
    assert "Examples" in result.output and "adios compare --strategies" in result.output


def test_list_shows_every_registry():
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("random-patch", "resnet-tiny", "simclr", "byol", "simsiam", "shapes", "digits", "quick", "random-init"):
        assert name in result.output


def test_match_area_off_restores_each_strategy_default(tmp_path):
    result = runner.invoke(
        app,
        ["compare", "--strategies", "random-patch", "--reference", "none", "--match-area", "off", "--out", str(tmp_path), *TINY],
    )
    assert result.exit_code == 0, result.output
    (record,) = json.loads((tmp_path / "results.json").read_text())
    assert abs(record["mask_area"] - 0.5) < 0.05 and "areas not matched" in result.output


def test_default_strategies_skip_the_oracle_without_instance_maps(tmp_path):
    result = runner.invoke(app, ["compare", "--dataset", "digits", "--reference", "none", "--out", str(tmp_path), *TINY])
    assert result.exit_code == 0, result.output
    strategies = [r["strategy"] for r in json.loads((tmp_path / "results.json").read_text())]
    assert strategies == ["none", "random-patch", "adios-s"]
    explicit = runner.invoke(
        app, ["compare", "--dataset", "digits", "--strategies", "ground-truth", "--out", str(tmp_path / "x"), *TINY]
    )
    assert explicit.exit_code == 2 and "needs instance maps" in explicit.output


def test_supervised_reference_row(tmp_path):
    result = runner.invoke(
        app, ["compare", "--strategies", "none", "--reference", "random-init,supervised", "--out", str(tmp_path), *TINY]
    )
    assert result.exit_code == 0, result.output
    records = {r["strategy"]: r for r in json.loads((tmp_path / "results.json").read_text())}
    assert set(records) == {"random-init", "supervised", "none"}
    assert records["supervised"]["steps"] == 2 and records["supervised"]["mask_area"] is None


def test_paper_preset_runs_on_stl10_files(tmp_path, stl10_dir):
    args = ["--preset", "paper", "--data-dir", str(stl10_dir), "--encoder", "resnet-tiny", "--epochs", "1"]
    args += ["--batch-size", "8", "--strategies", "none,adios-s", "--reference", "none", "--out", str(tmp_path / "out")]
    result = runner.invoke(app, ["compare", *args])
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "out" / "results.json").read_text())
    adios_s = next(r for r in records if r["strategy"] == "adios-s")
    assert adios_s["dataset"] == "stl10"
    assert {k: adios_s["mask_options"][k] for k in ("n_masks", "mask_channels", "mask_optimizer")} == {
        "n_masks": 6,
        "mask_channels": 64,
        "mask_optimizer": "lars",
    }
    settings = json.loads((tmp_path / "out" / "comparison.json").read_text())["base"]
    assert settings["image_size"] == 96 and settings["optimizer"] == "lars" and settings["epochs"] == 1


def test_masks_gallery_command(tmp_path):
    out = tmp_path / "g.png"
    result = runner.invoke(app, ["masks", "--strategies", "none,random-patch,adios-s", "--n", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(app, ["masks", "--strategies", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown strategy 'nope'" in bad.output
