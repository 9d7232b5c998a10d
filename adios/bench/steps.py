"""Training steps side by side: images/s, encoder passes, mask time, FLOPs, and the share of the peak.

A *cell* is one encoder at one image size. Every contender of a cell is one kind of step with its own
models and optimisers, built as a run builds them (``adios.runner.run.build_models``: the quick
preset's SimCLR heads, bf16 autocast, channels_last encoder, batch 128, the preset's mask options),
and all of them take the same synthetic views each round (normal noise, contiguous, as the
trainer's views are; instance maps with two objects for ``ground-truth``):

* one row per strategy: ``adios.engine.trainer.train_step``;
* ``adios (naive loop)``: the published per-mask iteration (:mod:`adios.bench.naive`);
* ``occlusion model``: the occlusion model's forward and backward alone (its cost inside a step).

Encoder passes are counted with :class:`adios.engine.trainer.PassCounter` on the timed steps; mask
time is the trainer's own ``StepResult.mask_seconds``; the FLOPs of one step are counted with
``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix products, forward and
backward) during the first warm-up round.
"""

from __future__ import annotations

import contextlib
import functools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

import masks
from adios.bench.naive import naive_adios_step
from adios.bench.timing import Timings, interleaved
from adios.engine.optim import make_optimizer
from adios.engine.seeding import generator, global_seed
from adios.engine.trainer import PassCounter, precision_context, train_step
from adios.engine.views import Views
from adios.runner.presets import preset
from adios.runner.run import build_models
from adios.runner.settings import RunSettings

NAIVE = "adios (naive loop)"
OCCLUSION = "occlusion model"
FIT_IMAGES = 2000  # images a strategy's fit (the sift-bovw codebook) sees
SCHEDULE_STEPS = 10_000  # the optimisers' schedule length: irrelevant to the timing
MEMORY_MARGIN = 0.8  # a contender runs only if its estimated memory is under this share of what is free


def cell_settings(encoder: str, image_size: int, overrides: dict[str, Any] | None = None) -> RunSettings:
    """The quick preset's settings for ``encoder`` at ``image_size`` (and ``overrides``): what every contender of a cell uses."""
    return preset("quick", encoder=encoder).replace(image_size=image_size, **(overrides or {}))


def instance_maps(batch: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Synthetic instance maps: background, a square object and a small corner object per image."""
    inst = torch.zeros(batch, size, size, dtype=torch.long)
    sides = torch.randint(size // 3, 2 * size // 3, (batch,), generator=g)
    for i, s in enumerate(sides.tolist()):
        y, x = torch.randint(0, size - s + 1, (2,), generator=g).tolist()
        inst[i, y : y + s, x : x + s] = 1
        inst[i, : size // 8, : size // 8] = 2
    return inst


def synthetic_views(batch: int, size: int, round_: int, device: torch.device) -> Views:
    """The views of one round: normalised-looking noise, contiguous, with instance maps and labels."""
    g = torch.Generator().manual_seed(round_)
    a, b = torch.randn(batch, 3, size, size, generator=g), torch.randn(batch, 3, size, size, generator=g)
    inst_a, inst_b = instance_maps(batch, size, g), instance_maps(batch, size, g)
    labels = torch.zeros(batch, dtype=torch.long)
    return Views(a=a, b=b, instances_a=inst_a, instances_b=inst_b, labels=labels).to(device)


@dataclass
class Contender:
    """One kind of step in a cell, with its models, optimisers and what was measured of it."""

    label: str
    strategy_name: str
    step: Callable[[Views, int], float | None]  # one step on the round's views; returns the mask seconds (or None)
    objective: torch.nn.Module | None
    strategy: Any
    counter: PassCounter | None = None
    mask_seconds: list[float] = field(default_factory=list)
    flops: int | None = None
    timed_steps: int = 0
    memory_bytes: int | None = None
    skipped: str | None = None

    def close(self) -> None:
        if self.counter is not None:
            self.counter.close()


def _build(strategy_name: str, settings: RunSettings, device: torch.device, fit_images: torch.Tensor) -> tuple[Any, Any]:
    size = settings.image_size
    _, objective = build_models(settings, SimpleNamespace(image_size=size), device)
    with global_seed(settings.seed, "strategy-init"):
        strategy = masks.build(strategy_name, image_size=size, **settings.mask_options)
    if isinstance(strategy, torch.nn.Module):
        strategy.to(device)
    strategy.fit(fit_images)
    objective.train()
    return objective, strategy


def step_contender(strategy_name: str, settings: RunSettings, device: torch.device, fit_images: torch.Tensor) -> Contender:
    """``train_step`` with ``strategy_name``, as the trainer runs it."""
    objective, strategy = _build(strategy_name, settings, device, fit_images)
    options = {"fixed_lr": objective.fixed_lr_parameters()}
    opt, _ = make_optimizer(
        settings.optimizer, objective.parameters(), settings.lr, settings.weight_decay, SCHEDULE_STEPS, settings.warmup, **options
    )
    mask_opt = strategy.make_optimizer(SCHEDULE_STEPS)[0] if masks.is_learned(strategy) else None
    if isinstance(strategy, torch.nn.Module):
        strategy.train()
    autocast = functools.partial(precision_context, device, settings.precision)

    def step(views: Views, round_: int) -> float:
        g = generator(settings.seed, "masks", round_, device=device)
        return train_step(objective, strategy, views, g, opt, mask_opt, autocast).mask_seconds

    return Contender(strategy_name, strategy_name, step, objective, strategy, counter=PassCounter(objective))


def naive_contender(settings: RunSettings, device: torch.device, fit_images: torch.Tensor) -> Contender:
    """The published per-mask ADIOS iteration (SimCLR)."""
    objective, strategy = _build("adios", settings, device, fit_images)
    opt, _ = make_optimizer(
        settings.optimizer, objective.parameters(), settings.lr, settings.weight_decay, SCHEDULE_STEPS, settings.warmup
    )
    mask_opt = strategy.make_optimizer(SCHEDULE_STEPS)[0]
    autocast = functools.partial(precision_context, device, settings.precision)

    def step(views: Views, round_: int) -> None:
        naive_adios_step(
            objective, strategy, views, generator(settings.seed, "masks", round_, device=device), opt, mask_opt, autocast
        )

    return Contender(NAIVE, "adios", step, objective, strategy, counter=PassCounter(objective))


def occlusion_contender(settings: RunSettings, device: torch.device) -> Contender:
    """The occlusion model's forward (under the run's autocast) and backward on view b, nothing else."""
    with global_seed(settings.seed, "strategy-init"):
        strategy = masks.build("adios", image_size=settings.image_size, **settings.mask_options).to(device)
    autocast = functools.partial(precision_context, device, settings.precision)

    def step(views: Views, round_: int) -> None:
        with autocast():
            slots = strategy.propose(views.b)
        strategy.zero_grad(set_to_none=True)
        slots.sum().backward()

    return Contender(OCCLUSION, "adios", step, None, strategy)


def estimate_memory(contender: Contender, views: Views, batch: int) -> int:
    """Bytes one step at ``batch`` holds, estimated from a step on 2 images: every tensor autograd saves
    (both steps of a learned strategy together, so an upper bound), scaled to the batch, plus the weights."""
    small = Views(views.a[:2], views.b[:2], views.instances_a[:2], views.instances_b[:2], views.labels[:2])
    saved = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        contender.step(small, -1)
    modules = [m for m in (contender.objective, contender.strategy) if isinstance(m, torch.nn.Module)]
    weights = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    return int(saved * batch / 2 + 4 * weights)  # weights, gradients and two optimiser moments


def free_memory(device: torch.device) -> int | None:
    """Bytes free on ``device``: CUDA's free memory, or the CPU's MemAvailable (None where unknown)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo") as handle:
            line = next(line for line in handle if line.startswith("MemAvailable:"))
        return int(line.split()[1]) * 1024
    return None


@dataclass
class CellResult:
    """What one cell measured: a row per contender, keyed by label."""

    encoder: str
    image_size: int
    batch: int
    rows: dict[str, dict[str, Any]]


def run_cell(
    encoder: str,
    image_size: int,
    strategies: list[str],
    device: torch.device,
    warmup: int,
    repeats: int,
    naive: bool = True,
    log: Callable[[str], None] = lambda line: None,
    overrides: dict[str, Any] | None = None,
) -> CellResult:
    """Time every strategy's training step (and the naive ADIOS loop and the occlusion model) at one cell.

    ``overrides``: settings values on top of the quick preset's (tests use a smaller batch).
    """
    settings = cell_settings(encoder, image_size, overrides)
    batch = settings.batch_size
    fit_images = torch.randn(FIT_IMAGES, 3, image_size, image_size, generator=torch.Generator().manual_seed(1)).to(device)
    probe_views = synthetic_views(batch, image_size, 10**6, device)
    contenders = [step_contender(s, settings, device, fit_images) for s in strategies]
    if naive and "adios" in strategies:
        contenders.append(naive_contender(settings, device, fit_images))
    if any(masks.is_learned(c.strategy) for c in contenders):
        contenders.append(occlusion_contender(settings, device))
    free = free_memory(device)
    for contender in contenders:
        contender.memory_bytes = estimate_memory(contender, probe_views, batch)
        if free is not None and contender.memory_bytes > MEMORY_MARGIN * free:
            contender.skipped = (
                f"needs about {contender.memory_bytes / 2**30:.1f} GiB for batch {batch}, "
                f"{free / 2**30:.1f} GiB free on {device.type}"
            )
            log(f"{encoder} {image_size} px: {contender.label} skipped ({contender.skipped})")
    active = [c for c in contenders if c.skipped is None]
    round_views: dict[int, Views] = {}

    def prepare(round_: int) -> None:  # the round's views, made before the clocks start
        round_views.clear()
        round_views[round_] = synthetic_views(batch, image_size, round_, device)

    def call(contender: Contender, round_: int) -> None:
        views = round_views[round_]
        if round_ == 0:  # the first warm-up round counts the FLOPs
            with FlopCounterMode(display=False) as flops:
                contender.step(views, round_)
            contender.flops = flops.get_total_flops()
            return
        if round_ == warmup and contender.counter is not None:
            contender.counter.images = 0  # passes are counted on the timed steps only
        mask_seconds = contender.step(views, round_)
        if round_ >= warmup:
            contender.timed_steps += 1
            if mask_seconds is not None:
                contender.mask_seconds.append(mask_seconds)

    log(f"{encoder} {image_size} px: {len(active)} contenders, {warmup} warm-up + {repeats} timed rounds")
    fns = {c.label: functools.partial(call, c) for c in active}
    times = interleaved(fns, max(1, warmup), repeats, device, before_round=prepare)
    rows = {c.label: _row(c, times.get(c.label), batch) for c in contenders}
    for c in contenders:
        c.close()
    _relate(rows)
    return CellResult(encoder, image_size, batch, rows)


def _row(c: Contender, t: Timings | None, batch: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "label": c.label,
        "strategy": c.strategy_name,
        "kind": "naive" if c.label == NAIVE else "occlusion" if c.label == OCCLUSION else "step",
        "learned": masks.is_learned(c.strategy),
        "skipped": c.skipped,
        "memory_estimate_gib": None if c.memory_bytes is None else round(c.memory_bytes / 2**30, 3),
    }
    if c.skipped is not None or t is None:
        return row
    row.update(
        seconds=t.median,
        seconds_all=t.wall,
        cpu_seconds=t.median_cpu,
        system_seconds=t.median_system,
        page_faults=t.median_faults,
        images_per_s=batch / t.median,
        gflop=None if c.flops is None else c.flops / 1e9,
        gflops_achieved=None if c.flops is None else c.flops / t.median / 1e9,
    )
    if c.counter is not None:
        row["passes_per_image"] = c.counter.images / max(1, c.timed_steps * batch)
    if c.mask_seconds:
        row["mask_seconds"] = statistics.median(c.mask_seconds)
    return row


def _relate(rows: dict[str, dict[str, Any]]) -> None:
    """Ratios within the cell: each step against ``none``, and the occlusion model's share of learned steps."""
    none = rows.get("none", {}).get("seconds")
    occlusion = rows.get(OCCLUSION, {})
    for row in rows.values():
        if row.get("seconds") is None:
            continue
        if none and row["kind"] != "occlusion":
            row["vs_none"] = row["seconds"] / none
        if row["learned"] and row["kind"] == "step" and occlusion.get("seconds") is not None:
            row["occlusion_share_time"] = occlusion["seconds"] / row["seconds"]
            if occlusion.get("gflop") and row.get("gflop"):
                row["occlusion_share_flops"] = occlusion["gflop"] / row["gflop"]


def peak_fraction(rows: list[dict[str, Any]], peak_gflops: float) -> None:
    """Add each row's share of the measured peak (achieved GFLOP/s over the peak's)."""
    for row in rows:
        if row.get("gflops_achieved") is not None and peak_gflops and math.isfinite(peak_gflops):
            row["peak_fraction"] = row["gflops_achieved"] / peak_gflops
