"""Where the time of a default ``adios compare`` goes (the quick preset): data, views, masks, forward and
backward, probes, I/O.

Method: **per-step phases measured over a few steps and scaled to the steps of a full run**; what
happens once per run (setup, probes, I/O) is measured once. For every run of ``Comparison().plan()``
(the default comparison: the quick preset's strategies and the ``random-init`` reference row):

* data: ``load_dataset`` once for the comparison (from the cache when it is there);
* setup: models, the strategy and its fit, the occlusion model's FLOP share, as a run builds them;
* views: ``PairedViews(step, indices)`` (augmentation), per step, times the run's steps;
* masks: the trainer's ``StepResult.mask_seconds``, per step, times the run's steps;
* forward/backward: the rest of ``train_step`` (encoder step, mask step, optimisers), per step, times the steps;
* probes: ``adios.runner.run.probe`` and ``measure_masks`` (timed on the first run that trains,
  the same work for every run; reference rows probe too);
* I/O: one checkpoint save times the run's checkpoints (every 20 steps), plus ``model.pt``.
"""

from __future__ import annotations

import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import masks
from adios.bench.timing import synchronize
from adios.data import load_dataset
from adios.engine.optim import make_optimizer
from adios.engine.seeding import generator
from adios.engine.trainer import Schedule, TrainState, _save_checkpoint, precision_context, train_step
from adios.engine.views import PairedViews
from adios.runner.comparison import Comparison
from adios.runner.run import augment_settings, build_models, build_strategy, fit_strategy, mask_model_share, measure_masks, probe
from adios.runner.settings import RunSettings
from adios.runner.store import atomic_torch_save

CHECKPOINT_EVERY = 20  # adios compare's default --checkpoint-every
METHOD = (
    "per-step phases (views, masks, forward/backward) measured over the timed steps after the warm-up and "
    "scaled to the steps of a full run; data, setup, probes and I/O measured once"
)


def _clock(fn: Callable[[], Any], device: torch.device) -> tuple[float, Any]:
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return time.perf_counter() - start, result


def compare_breakdown(
    device: torch.device,
    warmup: int = 1,
    steps: int = 3,
    overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Seconds per phase of every run of the default comparison (``overrides``: settings values, for tests).

    The runs' steps are interleaved (one step of each run per round), so a drifting machine hits them alike.
    """
    plan = Comparison(settings=dict(overrides or {})).plan()
    base = plan.base
    data_s, data = _clock(
        lambda: load_dataset(base.dataset, base.data_dir, base.image_size, base.n_train, base.n_test, unlabeled=base.unlabeled),
        device,
    )
    log(f"compare breakdown: {len(plan.runs)} runs, data loaded in {data_s:.1f}s")
    trained = [_Run(settings, data, device) for settings in plan.runs if settings.reference is None]
    for step in range(warmup + steps):
        for run in trained:
            run.step(step, timed=step >= warmup)
    probes_s = None
    runs = []
    for settings in plan.runs:
        if settings.reference is not None:
            runs.append({"run": settings.reference, "kind": "reference", "steps": 0})
            continue
        run = trained.pop(0)
        if probes_s is None:
            probes_s, _ = _clock(lambda run=run: probe(run.encoder, data, run.settings.precision), device)
        runs.append(run.row())
        log(f"compare breakdown: {settings.strategy} measured")
    for row in runs:
        row["probes_seconds"] = (probes_s or 0.0) + row.pop("mask_metrics_seconds", 0.0)
        phases = ("setup_seconds", "views_seconds", "masks_seconds", "forward_backward_seconds", "io_seconds")
        row["total_seconds"] = sum(row.get(k, 0.0) for k in phases) + row["probes_seconds"]
    return {
        "method": METHOD,
        "preset": plan.comparison.preset,
        "warmup_steps": warmup,
        "timed_steps": steps,
        "data_seconds": data_s,
        "runs": runs,
        "total_seconds": data_s + sum(r["total_seconds"] for r in runs),
    }


class _Run:
    """One run of the comparison, built as ``execute_run`` builds it, stepped on demand."""

    def __init__(self, settings: RunSettings, data, device: torch.device) -> None:
        start = time.perf_counter()
        self.settings, self.data, self.device = settings, data, device
        self.encoder, self.objective = build_models(settings, data, device)
        self.strategy = build_strategy(settings.strategy, settings.mask_options, settings.seed, data)
        if isinstance(self.strategy, torch.nn.Module):
            self.strategy.to(device)
        fit_strategy(self.strategy, settings.strategy, data.normalise(data.train_images[:, 0]), None)
        mask_model_share(self.strategy, self.encoder, data.image_size, device)
        self.views = PairedViews(data, augment_settings(settings), settings.seed)
        self.schedule = Schedule.of(self.views, settings.batch_size, settings.epochs)
        total = self.schedule.total
        options = {"fixed_lr": self.objective.fixed_lr_parameters()}
        self.opt, self.sched = make_optimizer(
            settings.optimizer, self.objective.parameters(), settings.lr, settings.weight_decay, total, settings.warmup, **options
        )
        learned = masks.is_learned(self.strategy)
        self.mask_opt, self.mask_sched = self.strategy.make_optimizer(total) if learned else (None, None)
        self.autocast = functools.partial(precision_context, device, settings.precision)
        self.objective.train()
        self.setup_s = time.perf_counter() - start
        self.views_s: list[float] = []
        self.mask_s: list[float] = []
        self.fb_s: list[float] = []

    def step(self, step: int, timed: bool) -> None:
        """One training step as ``train`` takes it: the views, then ``train_step``."""
        v_s, batch = _clock(lambda: self.views(step, self.schedule.indices(step)).to(self.device), self.device)
        g = generator(self.views.seed, "masks", step, device=self.device)
        s_s, result = _clock(
            lambda: train_step(self.objective, self.strategy, batch, g, self.opt, self.mask_opt, self.autocast), self.device
        )
        if timed:
            self.views_s.append(v_s)
            self.mask_s.append(result.mask_seconds)
            self.fb_s.append(s_s - result.mask_seconds)

    def row(self) -> dict[str, Any]:
        """The run's phases: per-step medians scaled to its steps; I/O and mask metrics measured once."""
        total = self.schedule.total
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "checkpoint.pt"
            state = TrainState(step=CHECKPOINT_EVERY, losses=[1.0] * CHECKPOINT_EVERY)
            save_s, _ = _clock(
                lambda: _save_checkpoint(
                    path, state, self.objective, self.strategy, self.opt, self.sched, self.mask_opt, self.mask_sched
                ),
                self.device,
            )
            strategy_state = self.strategy.state_dict() if isinstance(self.strategy, torch.nn.Module) else None
            model = {"encoder": self.encoder.state_dict(), "strategy": strategy_state}
            model_s, _ = _clock(lambda: atomic_torch_save(model, Path(folder) / "model.pt"), self.device)
        checkpoints = max(0, (total - 1) // CHECKPOINT_EVERY)
        metrics_s, _ = _clock(lambda: measure_masks(self.strategy, self.data, self.settings.seed, self.device), self.device)
        per_step = {
            k: statistics.median(v) for k, v in (("views", self.views_s), ("masks", self.mask_s), ("forward_backward", self.fb_s))
        }
        return {
            "run": self.settings.strategy,
            "kind": "strategy",
            "steps": total,
            "setup_seconds": self.setup_s,
            "views_seconds": per_step["views"] * total,
            "masks_seconds": per_step["masks"] * total,
            "forward_backward_seconds": per_step["forward_backward"] * total,
            "io_seconds": save_s * checkpoints + model_s,
            "checkpoints": checkpoints,
            "per_step": per_step,
            "mask_metrics_seconds": metrics_s,
        }
