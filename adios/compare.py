"""The comparison: a grid of runs (strategy x objective x encoder x seed) on one dataset, and its results files."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adios.data import load_dataset
from adios.run import execute_run, pick_device
from adios.settings import RunSettings
from adios.store import atomic_write_json, atomic_write_text

# Per-step data stays in each run's metrics.json; the comparison files hold one flat record per run.
PER_STEP_FIELDS = ("losses", "mask_losses")


@dataclass
class Comparison:
    """What to compare. ``base`` holds every other setting (from the preset and the flags)."""

    base: RunSettings
    strategies: list[str]
    objectives: list[str] = field(default_factory=lambda: ["simclr"])
    encoders: list[str] = field(default_factory=lambda: ["resnet-tiny"])
    seeds: list[int] = field(default_factory=lambda: [0])
    references: list[str] = field(default_factory=lambda: ["random-init"])

    def grid(self) -> list[RunSettings]:
        """Every run, in a fixed order: per encoder and seed the references, then per objective each strategy."""
        runs = []
        for encoder in self.encoders:
            for seed in self.seeds:
                for reference in self.references:
                    runs.append(self.base.replace(strategy=reference, objective="-", encoder=encoder, seed=seed, mask_options={}))
                for objective in self.objectives:
                    for strategy in self.strategies:
                        runs.append(self.base.replace(strategy=strategy, objective=objective, encoder=encoder, seed=seed))
        return runs


def flat_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its per-step lists, for results.json and results.csv."""
    return {k: v for k, v in record.items() if k not in PER_STEP_FIELDS}


def records_csv(records: list[dict[str, Any]]) -> str:
    """The records as CSV text, one row per run; nested values as JSON-like strings."""
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerow({k: v for k, v in record.items()})
    return buffer.getvalue()


def write_results(out: Path, records: list[dict[str, Any]]) -> None:
    """``results.json`` (a list of records) and ``results.csv``, written atomically."""
    flat = [flat_record(r) for r in records]
    atomic_write_json(out / "results.json", flat)
    atomic_write_text(out / "results.csv", records_csv(flat))


def run_comparison(
    comparison: Comparison,
    out: Path,
    *,
    device: str = "auto",
    on_run_start: Callable[[int, int, RunSettings], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    on_run_end: Callable[[int, int, RunSettings, dict[str, Any], str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume, or skip) every run of the grid and write the comparison's results files."""
    base = comparison.base
    data = load_dataset(base.dataset, base.data_dir, base.image_size, base.n_train, base.n_test)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        out / "comparison.json",
        {
            "base": base.to_dict(),
            "strategies": comparison.strategies,
            "objectives": comparison.objectives,
            "encoders": comparison.encoders,
            "seeds": comparison.seeds,
            "references": comparison.references,
        },
    )
    grid = comparison.grid()
    records = []
    for index, settings in enumerate(grid):
        if on_run_start:
            on_run_start(index, len(grid), settings)
        record, status = execute_run(settings, data, out, device=pick_device(device), on_step=on_step)
        records.append(record)
        if on_run_end:
            on_run_end(index, len(grid), settings, record, status)
    write_results(out, records)
    return records
