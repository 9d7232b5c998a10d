"""The comparison: a grid of runs (strategy x objective x encoder x seed) on one dataset, and its results files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adios.data import load_dataset
from adios.reporting.gallery import gallery_renderer
from adios.reporting.outputs import write_outputs
from adios.runner.run import execute_run, pick_device
from adios.runner.settings import RunSettings
from adios.runner.store import atomic_write_json


@dataclass
class Comparison:
    """What to compare. ``base`` holds every other setting (from the preset and the flags)."""

    base: RunSettings
    strategies: list[str]
    objectives: list[str] = field(default_factory=lambda: ["simclr"])
    encoders: list[str] = field(default_factory=lambda: ["resnet-tiny"])
    seeds: list[int] = field(default_factory=lambda: [0])
    references: list[str] = field(default_factory=lambda: ["random-init"])
    baseline: str = "none"
    preset: str = "quick"

    @property
    def matched_area(self) -> float | None:
        """The hidden fraction every static strategy targets, when areas are matched."""
        return self.base.mask_options.get("mask_area")

    def info(self) -> dict[str, Any]:
        """What ``comparison.json`` records: the effective base settings and the grid."""
        return {
            "base": self.base.to_dict(),
            "strategies": self.strategies,
            "objectives": self.objectives,
            "encoders": self.encoders,
            "seeds": self.seeds,
            "references": self.references,
            "baseline": self.baseline,
            "preset": self.preset,
            "match_area": self.matched_area,
        }

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


def run_comparison(
    comparison: Comparison,
    out: Path,
    *,
    device: str = "auto",
    checkpoint_every: int = 20,
    on_run_start: Callable[[int, int, RunSettings], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    on_run_end: Callable[[int, int, RunSettings, dict[str, Any], str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume, or skip) every run of the grid and write the comparison's results files."""
    base = comparison.base
    data = load_dataset(base.dataset, base.data_dir, base.image_size, base.n_train, base.n_test)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "comparison.json", comparison.info())
    grid = comparison.grid()
    records = []
    for index, settings in enumerate(grid):
        if on_run_start:
            on_run_start(index, len(grid), settings)
        record, status = execute_run(
            settings, data, out, device=pick_device(device), on_step=on_step, checkpoint_every=checkpoint_every
        )
        records.append(record)
        if on_run_end:
            on_run_end(index, len(grid), settings, record, status)
    gallery = gallery_renderer(data, comparison.strategies, comparison.seeds[0], base.mask_options, out)
    write_outputs(out, records, comparison.info(), baseline=comparison.baseline, gallery=gallery)
    return records
