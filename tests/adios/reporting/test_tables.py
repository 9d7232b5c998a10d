"""Summaries and tables from synthetic records: paired Δ with power, flags, failures, curves, width fitting."""

import math

import pytest
from rich.console import Console

from adios.reporting.tables import (
    LEARNED_MARGIN,
    caption_lines,
    fit_columns,
    results_table,
    summarise,
    table_cells,
    verdicts,
)
from adios.runner.record import RunRecord
from eval.stats import minimum_detectable_effect


def record(strategy: str, seed: int, linear: float, kind: str = "strategy", **fields) -> RunRecord:
    values = {"knn_acc": linear - 0.01, "occluded_linear_acc": linear / 2, "work": 100.0, "steps": 10, "passes_per_image": 2.0}
    return RunRecord(
        strategy=strategy,
        objective="-" if kind == "reference" else "simclr",
        encoder="resnet-tiny",
        dataset="shapes",
        seed=seed,
        kind=kind,
        linear_acc=linear,
        **{**values, **fields},
    )


def untrained(seed: int, linear: float = 0.2) -> RunRecord:
    return record("random-init", seed, linear, kind="reference", work=0.0, steps=0)


def test_paired_delta_and_its_power_by_hand():
    none = [0.70, 0.72, 0.74]
    mae = [0.66, 0.69, 0.69]  # differences -0.04, -0.03, -0.05: mean -0.04, sd 0.01
    records = [record("none", s, v) for s, v in enumerate(none)] + [record("mae", s, v) for s, v in enumerate(mae)]
    delta = next(s for s in summarise(records) if s.strategy == "mae").deltas["linear_acc"]
    assert delta.mean == pytest.approx(-0.04) and delta.sd == pytest.approx(0.01)
    assert delta.half_width == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5) and delta.significant
    assert delta.detectable == pytest.approx(minimum_detectable_effect(0.01, 3))
    caption = " ".join(caption_lines(records))
    assert f"mae {100 * delta.detectable:.1f}" in caption and "3 seeds" in caption
    (sentence,) = verdicts(records)
    assert "was worse than `none` beyond noise" in sentence and "a 2-point Δ would need" in sentence


def test_did_not_learn_is_flagged_against_random_init():
    records = [untrained(s, 0.20 + 0.01 * s) for s in range(3)]
    records += [record("none", s, 0.70 + 0.01 * s) for s in range(3)]
    records += [record("mae", s, v) for s, v in enumerate([0.21, 0.19, 0.23])]  # within noise of random-init
    flags = {s.strategy: s.learned for s in summarise(records)}
    assert flags == {"random-init": None, "none": True, "mae": False}
    columns, rows, _, summaries = table_cells(records)
    notes = dict(zip([s.strategy for s in summaries], [r[[c.header for c in columns].index("note")] for r in rows], strict=True))
    assert notes["mae"] == "did not learn" and notes["none"] == ""
    assert "beyond noise (paired 95% interval)" in " ".join(caption_lines(records))


def test_with_one_seed_learning_needs_a_fixed_margin():
    records = [
        untrained(0, 0.20),
        record("none", 0, 0.20 + LEARNED_MARGIN + 0.01),
        record("mae", 0, 0.20 + LEARNED_MARGIN - 0.01),
    ]
    flags = {s.strategy: s.learned for s in summarise(records)}
    assert flags["none"] is True and flags["mae"] is False
    assert "one seed: a fixed margin" in " ".join(caption_lines(records))


def test_failed_runs_leave_the_means_and_are_named():
    records = [record("none", s, 0.7) for s in range(3)]
    records += [record("adios-s", 0, 0.6), record("adios-s", 1, 0.8)]
    records.append(RunRecord("adios-s", "simclr", "resnet-tiny", "shapes", 2, status="failed", failure="NaN loss at step 7"))
    adios_s = next(s for s in summarise(records) if s.strategy == "adios-s")
    assert adios_s.stat("linear_acc")[0] == pytest.approx(0.7) and adios_s.deltas["linear_acc"].n == 2
    columns, rows, _, summaries = table_cells(records)
    note = rows[[s.strategy for s in summaries].index("adios-s")][[c.header for c in columns].index("note")]
    assert note == "1 of 3 seeds failed (NaN loss at step 7)"


def test_curve_readouts():
    curve = [
        {"epoch": e, "step": 10 * e, "encoder_passes": 100 * e, "knn_acc": v}
        for e, v in enumerate([0.10, 0.12, 0.30, 0.50, 0.60, 0.60])
    ]
    records = [record("none", 0, 0.7, curve=curve)]
    summary = summarise(records)[0].curve()
    assert summary.left_chance_at == pytest.approx(0.4)  # 0.30 >= 0.10 + 0.05 first at step 20 of 50
    assert summary.gain_last_fifth == pytest.approx(0.0)  # flat from 80% (step 40) to the end
    assert summary.epochs == [0, 1, 2, 3, 4, 5] and summary.passes[-1] == 500


def test_cost_is_counted_work_not_wall_time():
    records = [record("none", 0, 0.7, work=100.0, wall_seconds=10.0), record("adios", 0, 0.7, work=550.0, wall_seconds=12.0)]
    cost = next(s for s in summarise(records) if s.strategy == "adios").cost_ratio
    assert cost == pytest.approx(5.5)


def test_the_table_fits_80_columns_and_names_what_it_left_out():
    records = [untrained(s) for s in range(3)] + [
        record(n, s, 0.5 + 0.01 * s) for n in ("none", "random-patch", "mae") for s in range(3)
    ]
    table, hidden = results_table(records, title="t", width=80)
    console = Console(width=80, record=True)
    console.print(table)
    assert max(len(line) for line in console.export_text().splitlines()) <= 80
    assert hidden and "linear" not in hidden and "strategy" not in hidden
    assert "columns left out to fit the terminal" in " ".join(caption_lines(records, hidden=hidden))
    columns, rows, _, _ = table_cells(records)
    assert fit_columns(columns, rows, None) == (list(range(len(columns))), [])  # not a terminal: every column
