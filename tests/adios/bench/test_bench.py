"""``adios bench``: the document and the tables are complete and well-formed; the plans cover what issue 14 asks.

No assertion here is about speed: a tiny plan (batch 16, one timed round, small probes and data)
runs the same code as ``adios bench``, and the tests check structure, counts and consistency.
"""

import json
import math

import pytest
import torch
from rich.console import Console
from typer.testing import CliRunner

import adios  # noqa: F401  (registers the strategies)
from adios.bench import BenchPlan, run_bench, write_json
from adios.bench import steps as bench_steps
from adios.bench.report import tables
from adios.bench.run import CORE_STRATEGIES, adios_summary, benchmark_strategies
from adios.bench.steps import NAIVE, OCCLUSION
from adios.cli import app

pytestmark = pytest.mark.usefixtures("one_thread")

CPU = torch.device("cpu")
STRATEGIES = ["none", "random-patch", "ground-truth", "adios-s", "adios"]
N = 4  # the quick preset's n_masks


def tiny_plan() -> BenchPlan:
    return BenchPlan(
        quick=True,
        cells=[("resnet-tiny", 32, STRATEGIES)],
        warmup=1,
        repeats=2,
        peak_n=128,
        peak_repeats=2,
        probe_sizes=[(300, 100)],
        extraction=[("resnet-tiny", 32)],
        extraction_images=64,
        breakdown_warmup=1,
        breakdown_steps=1,
        step_overrides={"batch_size": 16},
        breakdown_overrides={"n_train": 96, "n_test": 48, "batch_size": 32, "epochs": 1},
    )


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    doc = run_bench(tiny_plan(), CPU)
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    write_json(doc, path)
    return json.loads(path.read_text())


def finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_document_has_every_part_and_the_machine(document):
    assert document["schema"] == "adios-bench/1"
    for key in ("machine", "load_before", "load_after", "plan", "settings", "peak", "steps", "adios", "probes", "compare"):
        assert key in document, key
    assert document["machine"]["device"] == "cpu" and document["machine"]["torch_threads"] == 1
    assert document["settings"]["batch_size"] == 16 and document["settings"]["precision"] == "bf16"
    for dtype in ("fp32", "bf16"):
        assert finite_positive(document["peak"][dtype]["gflops"])
        assert document["peak"][dtype]["best_gflops"] >= document["peak"][dtype]["gflops"]
    assert finite_positive(document["seconds"])


def test_every_strategy_has_a_complete_row_with_counted_passes(document):
    rows = {r["label"]: r for r in document["steps"]}
    assert set(rows) == {*STRATEGIES, NAIVE, OCCLUSION}
    expected_passes = {"none": 2, "random-patch": 2, "ground-truth": 2, "adios-s": 4, "adios": 2 * N + 2, NAIVE: 4 * N}
    for label, passes in expected_passes.items():
        row = rows[label]
        assert row["skipped"] is None
        assert row["passes_per_image"] == passes, label
        for key in ("seconds", "cpu_seconds", "images_per_s", "gflop", "gflops_achieved", "peak_fraction", "vs_none"):
            assert finite_positive(row[key]), (label, key)
        assert row["images_per_s"] == pytest.approx(16 / row["seconds"])
        assert row["system_seconds"] >= 0 and row["page_faults"] >= 0
        assert len(row["seconds_all"]) == 2 and row["seconds"] == pytest.approx(sum(row["seconds_all"]) / 2)
    assert rows["none"]["vs_none"] == 1.0
    for label in STRATEGIES:
        assert rows[label]["mask_seconds"] >= 0
    # counted FLOPs: static strategies do the none step's work; ADIOS-s and ADIOS more, the naive loop most
    assert rows["random-patch"]["gflop"] == pytest.approx(rows["none"]["gflop"], rel=1e-3)
    assert rows["none"]["gflop"] < rows["adios-s"]["gflop"] < rows["adios"]["gflop"] < rows[NAIVE]["gflop"]
    for label in ("adios-s", "adios"):
        assert rows[label]["learned"] and 0 < rows[label]["occlusion_share_flops"] < 1
        assert finite_positive(rows[label]["occlusion_share_time"])
    assert rows[OCCLUSION]["kind"] == "occlusion" and finite_positive(rows[OCCLUSION]["gflop"])


def test_adios_summary_relates_the_rows(document):
    (entry,) = document["adios"]
    rows = {r["label"]: r for r in document["steps"]}
    assert entry["n_masks"] == N and entry["adios_pass_bound"] == (2 * N + 2) / 2
    assert entry["adios_vs_none"] == pytest.approx(rows["adios"]["seconds"] / rows["none"]["seconds"])
    assert entry["naive_vs_adios"] == pytest.approx(rows[NAIVE]["seconds"] / rows["adios"]["seconds"])
    assert entry["adios_s_vs_none"] == pytest.approx(rows["adios-s"]["seconds"] / rows["none"]["seconds"])
    assert entry["adios_target_met"] == (entry["adios_vs_none"] <= 1.1 * (2 * N + 2) / 2)
    assert entry["adios_s_target_met"] == (entry["adios_s_vs_none"] <= 1.5)
    assert entry["adios_s_flops_vs_none"] == pytest.approx(rows["adios-s"]["gflop"] / rows["none"]["gflop"])
    # ADIOS-s = none + occlusion model + the rest, in time and in FLOPs
    parts = 1 + entry["occlusion_vs_none"] + entry["adios_s_rest_vs_none"]
    assert parts == pytest.approx(entry["adios_s_vs_none"])
    flops = 1 + entry["occlusion_flops_vs_none"] + entry["adios_s_rest_flops_vs_none"]
    assert flops == pytest.approx(entry["adios_s_flops_vs_none"]) and entry["adios_s_rest_flops_vs_none"] > 0


def test_adios_summary_judges_the_targets():
    def row(label, seconds, gflop):
        return {"encoder": "resnet-tiny", "image_size": 32, "label": label, "seconds": seconds, "gflop": gflop}

    fast = adios_summary([row("none", 1.0, 10), row("adios", 5.4, 40), row("adios-s", 1.4, 18), row(NAIVE, 8.0, 60)])[0]
    slow = adios_summary([row("none", 1.0, 10), row("adios", 5.6, 40), row("adios-s", 1.6, 18)])[0]
    assert fast["adios_target"] == pytest.approx(5.5) and fast["adios_target_met"] and fast["adios_s_target_met"]
    assert not slow["adios_target_met"] and not slow["adios_s_target_met"]
    assert fast["naive_vs_adios"] == pytest.approx(8.0 / 5.4) and "naive_vs_adios" not in slow
    assert adios_summary([row("none", 1.0, 10)]) == []  # a cell without learned strategies has no entry


def test_probes_are_measured(document):
    (extraction,) = document["probes"]["extraction"]
    assert extraction["images"] == 64 and extraction["feature_dim"] == 128 and finite_positive(extraction["images_per_s"])
    (fit,) = document["probes"]["fits"]
    assert (fit["n_train"], fit["n_test"], fit["dim"]) == (300, 100, 512)
    for key in ("linear_seconds", "linear_seconds_one_blas_thread", "knn20_seconds", "knn200_seconds"):
        assert finite_positive(fit[key]), key
    # the synthetic features carry class information: every probe beats chance (0.1) clearly
    assert fit["linear_acc"] > 0.3 and fit["knn20_acc"] > 0.3 and fit["linear_iterations"] >= 1


def test_compare_breakdown_covers_every_default_run(document):
    compare = document["compare"]
    runs = {r["run"]: r for r in compare["runs"]}
    assert set(runs) == {"none", "random-patch", "ground-truth", "adios-s", "random-init"}  # the quick preset's default
    assert runs["random-init"]["kind"] == "reference" and runs["random-init"]["steps"] == 0
    phases = ("setup_seconds", "views_seconds", "masks_seconds", "forward_backward_seconds", "io_seconds", "probes_seconds")
    for name in ("none", "random-patch", "ground-truth", "adios-s"):
        run = runs[name]
        assert run["steps"] == 3 and run["checkpoints"] == 0  # 96 images, batch 32, 1 epoch
        for key in phases:
            assert run[key] >= 0, (name, key)
        assert run["total_seconds"] == pytest.approx(sum(run[k] for k in phases))
        assert run["views_seconds"] == pytest.approx(run["per_step"]["views"] * 3)
    assert runs["adios-s"]["masks_seconds"] > 0
    assert compare["total_seconds"] == pytest.approx(compare["data_seconds"] + sum(r["total_seconds"] for r in runs.values()))
    assert "scaled" in compare["method"]


def test_tables_show_every_part_and_row(document):
    console = Console(record=True, width=400)
    for table in tables(document):
        console.print(table)
    text = console.export_text()
    for title in ("matmul peak", "training step: resnet-tiny, 32 px", "ADIOS:", "probes:", "adios compare"):
        assert title in text, title
    for label in [*STRATEGIES, NAIVE, OCCLUSION, "random-init", "linear probe", "kNN probe, k = 200"]:
        assert label in text, label


def test_a_contender_that_does_not_fit_in_memory_is_skipped(monkeypatch):
    monkeypatch.setattr(bench_steps, "free_memory", lambda device: 1024)  # 1 KiB free
    result = bench_steps.run_cell("resnet-tiny", 32, ["none"], CPU, 1, 1, overrides={"batch_size": 4})
    row = result.rows["none"]
    assert row["skipped"].startswith("needs about") and "seconds" not in row and row["memory_estimate_gib"] > 0
    doc = {"machine": {"device": "cpu", "cpu": "x", "cpu_count": 1, "torch_threads": 1, "torch": "t"}}
    doc["steps"] = [{"encoder": "resnet-tiny", "image_size": 32, "batch": 4, **row}]
    console = Console(record=True, width=400)
    for table in tables(doc):
        console.print(table)
    assert "needs about" in console.export_text()


def test_plans_cover_what_issue_14_asks():
    quick, full = BenchPlan.for_mode(True, CPU), BenchPlan.for_mode(False, CPU)
    assert set(CORE_STRATEGIES) <= set(benchmark_strategies()) and "hide-main-object" not in benchmark_strategies()
    quick_cells = {(e, s): set(names) for e, s, names in quick.cells}
    assert set(CORE_STRATEGIES) <= quick_cells[("resnet-tiny", 32)] and "none" in quick_cells[("resnet18", 32)]
    assert {(e, s) for e, s, _ in full.cells} == {(e, s) for e in ("resnet-tiny", "resnet18") for s in (32, 96)}
    assert all(set(CORE_STRATEGIES) <= set(names) for _, _, names in full.cells)
    assert quick.probe_sizes == [(10_000, 2_000)] and (50_000, 10_000) in full.probe_sizes
    assert quick.repeats < full.repeats and quick.parts == full.parts == ("peak", "steps", "probes", "compare")


def test_cli_help_and_bad_options():
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    for option in ("--quick", "--out", "--device", "--threads", "--parts", "Examples"):
        assert option in result.output
    bad = runner.invoke(app, ["bench", "--parts", "steps,nonsense"])
    assert bad.exit_code == 2 and "--parts" in bad.output
    bad = runner.invoke(app, ["bench", "--out", "figures.txt"])
    assert bad.exit_code == 2 and "JSON" in bad.output


def test_cli_runs_one_part_and_writes_the_json(tmp_path, monkeypatch):
    """The command wiring end to end, on the cheapest part (the matmul peak, shrunk)."""
    from adios.bench import run as bench_run

    original = bench_run.BenchPlan.for_mode.__func__

    def small(cls, quick, device):
        plan = original(cls, quick, device)
        plan.peak_n, plan.peak_repeats = 64, 1
        return plan

    monkeypatch.setattr(bench_run.BenchPlan, "for_mode", classmethod(small))
    out = tmp_path / "peak.json"
    result = CliRunner().invoke(app, ["bench", "--quick", "--parts", "peak", "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["quick"] is True and set(doc["peak"]) == {"fp32", "bf16"} and "steps" not in doc
    assert "matmul peak" in result.output and str(out) in result.output
