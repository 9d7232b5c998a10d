"""The comparison: a grid of runs (strategy x objective x encoder x seed) on one dataset, and its results files.

:class:`Comparison` is what a user asks for, from Python or from the CLI (which only parses flags into
it). :meth:`Comparison.plan` owns every rule: the preset's values per objective and encoder, the
default strategies, ``all``, ``--match-area``, and every check, so a notebook gets the same one-line
:class:`~adios.errors.UserError` as the command line, before any data is loaded or any run trains.
:func:`prepare` then loads the data and checks what needs it; :func:`run_comparison` runs the grid
(or this shard's slice of it) and writes the results files from every finished run in the folder.
Under torchrun all ranks train every run together and rank 0 alone writes (docs/cluster.md).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import masks
from adios.data import DATASETS, ImageDataset, load_dataset
from adios.engine import distributed
from adios.engine.encoders import ENCODERS, build_encoder
from adios.engine.objectives import OBJECTIVES
from adios.engine.optim import OPTIMIZERS
from adios.engine.trainer import check_checkpoint
from adios.errors import UserError, unknown_name
from adios.runner.presets import Preset, get_preset
from adios.runner.record import RunRecord, read_record
from adios.runner.references import REFERENCES
from adios.runner.run import execute_run, pick_device, run_name
from adios.runner.settings import RunSettings, flag_fields
from adios.runner.store import atomic_write_json


@dataclass
class Comparison:
    """What to compare, as a user states it. Unset values come from the preset.

    * ``strategies``: names, ``["all"]`` (every registered strategy the dataset can run, controls
      aside), or None for the preset's default set (those the dataset can run).
    * ``match_area``: the hidden fraction every strategy that takes a target area aims at; None for
      the preset's, ``"off"`` for each strategy's own default.
    * ``settings``: :class:`RunSettings` values the user sets (they override the preset);
      ``mask_options``: strategy options the user sets (e.g. ``{"n_masks": 6}``).
    * ``shard``: ``(i, n)`` runs only every n-th run of the grid, starting at the i-th (0-based).
    """

    strategies: list[str] | None = None
    objectives: list[str] = field(default_factory=lambda: ["simclr"])
    encoders: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    references: list[str] = field(default_factory=lambda: ["random-init"])
    baseline: str = "none"
    preset: str = "quick"
    match_area: float | str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    mask_options: dict[str, Any] = field(default_factory=dict)
    shard: tuple[int, int] | None = None

    def plan(self) -> Plan:
        """Check everything that needs no data and resolve the grid; raises a one-line :class:`UserError`."""
        preset = get_preset(self.preset)
        objectives = _names(self.objectives, "objective", OBJECTIVES.names())
        encoders = _names(self.encoders or [preset.encoder], "encoder", ENCODERS.names())
        references = _names(self.references, "reference row", REFERENCES.names(), empty_ok=True)
        seeds = _seeds(self.seeds)
        settings_values = _settings_values(self.settings)
        dataset = settings_values.get("dataset", preset.common.get("dataset", RunSettings().dataset))
        if dataset not in DATASETS:
            raise unknown_name("dataset", dataset, DATASETS.names())
        strategies, dropped = _strategies(self.strategies, preset, dataset)
        if self.baseline not in masks.names():
            raise unknown_name("baseline strategy", self.baseline, masks.names())
        if self.baseline not in strategies:
            raise UserError(f"the baseline '{self.baseline}' is not among the strategies; add it, or pick --baseline from them")
        matched = matched_area(self.match_area, preset)
        _check_mask_options(self.mask_options)
        cells: dict[tuple[str, str], RunSettings] = {}
        for objective in objectives:
            for encoder in encoders:
                base = preset.resolve(objective, encoder, **settings_values, mask_options=self.mask_options)
                options = {k: v for k, v in base.mask_options.items() if k != "mask_area"}
                if matched is not None:
                    options["mask_area"] = matched
                elif self.match_area is None and "mask_area" in base.mask_options and "mask_area" in self.mask_options:
                    options["mask_area"] = base.mask_options["mask_area"]
                base = base.replace(mask_options=options, budget_baseline=self.baseline)
                _check_cell(base, strategies)
                cells[(objective, encoder)] = base
        runs = _grid(cells, strategies, references, seeds)
        shard = _shard(self.shard, len(runs))
        resolved = dataclasses.replace(
            self, strategies=strategies, objectives=objectives, encoders=encoders, references=references, seeds=seeds
        )
        return Plan(resolved, cells, runs, dropped, matched, shard)


@dataclass
class Plan:
    """A validated comparison: the resolved settings per (objective, encoder), the grid, this shard's runs."""

    comparison: Comparison
    cells: dict[tuple[str, str], RunSettings]
    runs: list[RunSettings]
    dropped: list[str]
    matched_area: float | None
    shard: tuple[int, int] | None

    @property
    def mine(self) -> list[RunSettings]:
        """The runs this process trains: all of them, or every n-th from the i-th for shard (i, n)."""
        if self.shard is None:
            return self.runs
        i, n = self.shard
        return self.runs[i::n]

    @property
    def base(self) -> RunSettings:
        """The settings of the first (objective, encoder) cell: what the settings table shows."""
        return next(iter(self.cells.values()))

    def info(self) -> dict[str, Any]:
        """What ``comparison.json`` records: the request, the resolved settings per cell and every run's folder."""
        c = self.comparison
        return {
            "preset": c.preset,
            "strategies": c.strategies,
            "objectives": c.objectives,
            "encoders": c.encoders,
            "seeds": c.seeds,
            "references": c.references,
            "baseline": c.baseline,
            "match_area": self.matched_area,
            "budget": self.base.budget,
            "base": self.base.to_dict(),
            "cells": [s.to_dict() for s in self.cells.values()],
            "runs": [run_name(s) for s in self.runs],
        }


def _names(given: list[str], kind: str, valid: list[str], empty_ok: bool = False) -> list[str]:
    names = [n.strip() for n in given if n and n.strip()]
    if names == ["all"]:
        return list(valid)
    if not names and not empty_ok:
        raise UserError(f"no {kind} given; choose from: {', '.join(valid)}")
    for name in names:
        if name not in valid:
            raise unknown_name(kind, name, valid)
    return list(dict.fromkeys(names))


def _seeds(seeds: list[int]) -> list[int]:
    if not seeds:
        raise UserError("no seeds given: use --seeds N (N >= 1)")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise UserError(f"seeds must be integers >= 0, got {seed!r}")
    return list(dict.fromkeys(seeds))


def _settings_values(values: dict[str, Any]) -> dict[str, Any]:
    allowed = {f.name for f in flag_fields()}
    for key in values:
        if key not in allowed:
            raise UserError(f"'{key}' is not a setting; choose from: {', '.join(sorted(allowed))}")
    return {k: v for k, v in values.items() if v is not None}


def _can_run(name: str, dataset: str) -> bool:
    cls = masks.get(name)
    spec = DATASETS.get(dataset)
    return (not cls.needs_instances or spec.instances) and (not cls.needs_class_object or spec.class_object)


def _strategies(given: list[str] | None, preset: Preset, dataset: str) -> tuple[list[str], list[str]]:
    """The strategies to run, and those left out because the dataset cannot run them (for ``all`` and the default)."""
    if given is None or [n.strip() for n in given] == ["all"]:
        wanted = list(preset.strategies) if given is None else [n for n in masks.names() if not masks.get(n).control]
        kept = [n for n in wanted if _can_run(n, dataset)]
        return kept, [n for n in wanted if n not in kept]
    names = _names(given, "strategy", masks.names())
    for name in names:
        if not _can_run(name, dataset):
            needs = "instance maps" if masks.get(name).needs_instances else "to know which object defines the class"
            raise UserError(f"strategy '{name}' needs {needs}, which dataset '{dataset}' does not have; use --dataset shapes")
    return names, []


def matched_area(match_area: float | str | None, preset: Preset) -> float | None:
    if match_area is None:
        return preset.common.get("mask_options", {}).get("mask_area")
    if isinstance(match_area, str):
        if match_area.strip() == "off":
            return None
        try:
            match_area = float(match_area)
        except ValueError:
            raise UserError(f"--match-area takes a fraction in [0, 1] or 'off', got '{match_area}'") from None
    if not (isinstance(match_area, (int, float)) and math.isfinite(match_area) and 0 <= match_area <= 1):
        raise UserError(f"--match-area must be a fraction in [0, 1] or 'off', got {match_area}")
    return float(match_area)


def _check_mask_options(options: dict[str, Any]) -> None:
    """Every option is taken by some strategy; ``"name.key"`` (one strategy's own value) by that strategy."""
    known = {name for strategy in masks.names() for name in masks.constructor_options(strategy)}
    for key in options:
        strategy, _, option = key.rpartition(".")
        if strategy:
            masks.get(strategy)
            if option not in masks.constructor_options(strategy):
                raise UserError(
                    f"strategy '{strategy}' takes no option '{option}'; its options: {', '.join(masks.constructor_options(strategy))}"
                )
        elif key not in known:
            raise UserError(f"no strategy takes the option '{key}'; options: {', '.join(sorted(known))}")


def _check_cell(settings: RunSettings, strategies: list[str]) -> None:
    """Every value of one (objective, encoder) cell, and every strategy built once with its options."""
    settings.validate()
    if settings.optimizer not in OPTIMIZERS:
        raise unknown_name("optimizer", settings.optimizer, OPTIMIZERS.names())
    try:
        build_encoder(settings.encoder, settings.image_size, stem=settings.stem, patch_size=settings.patch_size)
    except (ValueError, RuntimeError) as error:
        raise UserError(f"encoder '{settings.encoder}' at --image-size {settings.image_size}: {error}") from None
    for name in strategies:
        try:
            masks.build(name, image_size=settings.image_size, **settings.mask_options)
        except (TypeError, ValueError) as error:
            raise UserError(f"strategy '{name}': {error}") from None


def _grid(
    cells: dict[tuple[str, str], RunSettings], strategies: list[str], references: list[str], seeds: list[int]
) -> list[RunSettings]:
    """Every run, in a fixed order: per encoder and seed the references, then per objective each strategy."""
    runs = []
    encoders = list(dict.fromkeys(e for _, e in cells))
    objectives = list(dict.fromkeys(o for o, _ in cells))
    for encoder in encoders:
        for seed in seeds:
            first = cells[(objectives[0], encoder)]
            for reference in references:
                runs.append(first.replace(reference=reference, strategy="none", objective="-", seed=seed, mask_options={}))
            for objective in objectives:
                for strategy in strategies:
                    runs.append(cells[(objective, encoder)].replace(strategy=strategy, seed=seed))
    return runs


def _shard(shard: tuple[int, int] | str | None, total: int) -> tuple[int, int] | None:
    if shard is None:
        return None
    if isinstance(shard, str):
        try:
            i, n = (int(part) for part in shard.split("/"))
        except ValueError:
            raise UserError(f"--shard takes I/N with 0 <= I < N (e.g. 0/4), got '{shard}'") from None
        shard = (i, n)
    i, n = shard
    if n < 1 or not 0 <= i < n:
        raise UserError(f"--shard takes I/N with 0 <= I < N (e.g. 0/4), got {i}/{n}")
    return i, n


@dataclass
class Prepared:
    """A plan whose data is loaded and whose output folder and device are usable: nothing is left to go wrong but bugs."""

    plan: Plan
    data: ImageDataset
    out: Path
    device: Any


def prepare(comparison: Comparison | Plan, out: Path, device: str = "auto") -> Prepared:
    """Validate the comparison, load its data and check the output folder and device, before any training."""
    plan = comparison.plan() if isinstance(comparison, Comparison) else comparison
    chosen = pick_device(device)
    for settings in plan.cells.values():
        distributed.check_batch_size(settings.batch_size)
    if distributed.is_main():
        _check_out(Path(out))
    base = plan.base
    with distributed.main_first():  # rank 0 decodes or generates the data into the cache, the others read it
        data = load_dataset(base.dataset, base.data_dir, base.image_size, base.n_train, base.n_test, unlabeled=base.unlabeled)
    for settings in plan.mine:  # an interrupted run resumes from its checkpoint: a file that is not one is found now
        checkpoint = Path(out) / "runs" / run_name(settings) / "checkpoint.pt"
        if checkpoint.exists() and not checkpoint.with_name("metrics.json").exists():
            check_checkpoint(checkpoint)
    n_train = data.train_images.shape[0]
    for settings in plan.cells.values():
        if settings.batch_size > n_train:
            raise UserError(
                f"--batch-size {settings.batch_size} is larger than the {n_train} training images; use a smaller batch"
            )
    return Prepared(plan, data, Path(out), chosen)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; pass a folder for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"cannot write results to --out {out} ({error.strerror or error}); pass a folder you can write to"
        ) from None


def collect_records(out: Path, runs: list[str]) -> tuple[list[RunRecord], list[str]]:
    """The finished records of the named runs in a results folder, and the names of the runs not finished."""
    records, missing = [], []
    for name in runs:
        path = out / "runs" / name / "metrics.json"
        if path.exists():
            records.append(read_record(path))
        else:
            missing.append(name)
    return records, missing


def run_comparison(
    comparison: Comparison | Prepared,
    out: Path | None = None,
    *,
    device: str = "auto",
    checkpoint_every: int = 20,
    on_run_start: Callable[[int, int, RunSettings], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    on_wait: Callable[[RunSettings], None] | None = None,
    on_run_end: Callable[[int, int, RunSettings, RunRecord, str], None] | None = None,
) -> list[RunRecord]:
    """Run (or resume, or skip) every run of the grid (this shard's) and write the comparison's results files.

    Returns the records of every finished run of the grid (other shards' included).
    """
    from adios.reporting.gallery import gallery_renderer
    from adios.reporting.outputs import write_outputs

    if isinstance(comparison, Comparison):
        if out is None:
            raise ValueError("run_comparison needs an output folder")
        comparison = prepare(comparison, out, device)
    plan, data, out = comparison.plan, comparison.data, comparison.out
    info = plan.info()
    if distributed.is_main():
        atomic_write_json(out / "comparison.json", info)
    mine = plan.mine
    for index, settings in enumerate(mine):
        if on_run_start:
            on_run_start(index, len(mine), settings)
        record, status = execute_run(
            settings,
            data,
            out,
            device=comparison.device,
            on_step=on_step,
            on_wait=(lambda s=settings: on_wait(s)) if on_wait else None,
            checkpoint_every=checkpoint_every,
            matched_area=plan.matched_area,
        )
        if on_run_end:
            on_run_end(index, len(mine), settings, record, status)
    if not distributed.is_main():  # rank 0 writes the results files; every rank returns its records
        return distributed.from_main(None)
    records, missing = collect_records(out, info["runs"])
    c = plan.comparison
    gallery = gallery_renderer(data, c.strategies, c.seeds[0], plan.base.mask_options, out)
    write_outputs(out, records, info, baseline=c.baseline, gallery=gallery, missing=missing)
    return distributed.from_main(records)
