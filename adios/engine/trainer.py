"""The one training loop, for every strategy (docs/architecture.md, "One batch, end to end").

    views (a, b) -> strategy(b) = masks m -> b*(1-m) -> encoder -> objective -> encoder update
                          ^                                                    |
                          +---- learned strategies only: adversarial update <--+

The trainer never looks at a strategy's name: it asks :func:`masks.is_learned` whether there is an
adversarial step to run. All randomness is derived from (seed, step), so runs are paired across
strategies and a resumed run continues exactly.

Under torchrun (docs/cluster.md) every rank trains on its slice of the same global batch, with
random streams of its own (seed, step, rank); the objective and the occlusion model are wrapped in
DDP (:func:`adios.engine.distributed.replicate`), and only rank 0 writes checkpoints and probes.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from adios.engine import distributed
from adios.engine.encoders import Encoder
from adios.engine.objectives import Objective, frozen
from adios.engine.optim import make_optimizer
from adios.engine.seeding import generator
from adios.engine.views import PairedViews, Views
from adios.errors import UserError
from adios.runner.store import atomic_torch_save
from masks import LearnedStrategy, MaskStrategy, is_learned


class Diverged(Exception):
    """The loss became NaN or infinite: the run stops and is recorded as failed, with the step."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(f"{'NaN' if math.isnan(loss) else 'infinite'} loss at step {step}")
        self.step, self.loss = step, loss


@dataclass
class StepResult:
    loss: float
    mask_loss: float | None
    mask_seconds: float


@dataclass
class TrainState:
    """What a checkpoint holds besides module and optimiser states."""

    step: int = 0
    losses: list[float] = field(default_factory=list)
    mask_losses: list[float] = field(default_factory=list)
    train_seconds: float = 0.0
    mask_seconds: float = 0.0
    encoder_images: int = 0
    #: Learning-curve points, one per evaluation: {epoch, step, encoder_passes, ...what the evaluator returns}.
    curve: list[dict[str, Any]] = field(default_factory=list)
    eval_seconds: float = 0.0
    #: The ranks the run trains on (torchrun); a checkpoint resumes only on as many.
    world_size: int = 1


@functools.lru_cache(maxsize=4)
def batch_order(seed: int, epoch: int, n: int) -> Tensor:
    """The permutation of the training set for one epoch; the same for every strategy (cached: do not modify)."""
    return torch.randperm(n, generator=generator(seed, "order", epoch))


@dataclass(frozen=True)
class Schedule:
    """Which images each step trains on: a fresh permutation per epoch, the last partial batch dropped.

    ``total`` is ``epochs`` whole epochs, or exactly ``steps`` when given (a compute budget may end
    mid-epoch); either way step k trains on the same images for every strategy of a seed.
    """

    seed: int
    n: int
    batch_size: int
    epochs: int
    steps: int | None = None

    @classmethod
    def of(cls, views: PairedViews, batch_size: int, epochs: int, steps: int | None = None) -> Schedule:
        n = views.images.shape[0]
        return cls(views.seed, n, min(batch_size, n), epochs, steps)

    @property
    def steps_per_epoch(self) -> int:
        return self.n // self.batch_size

    @property
    def total(self) -> int:
        return self.epochs * self.steps_per_epoch if self.steps is None else self.steps

    def indices(self, step: int) -> Tensor:
        """The training-set indices of one step's batch."""
        epoch, i = divmod(step, self.steps_per_epoch)
        return batch_order(self.seed, epoch, self.n)[i * self.batch_size : (i + 1) * self.batch_size]


def precision_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` for precision "bf16"; a no-op context for "fp32"."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so a timer around it measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _propose_and_draw(
    strategy: MaskStrategy | LearnedStrategy, propose: Callable | None, views: Views, both: bool, g: torch.Generator
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    """Masks (B, K, H, W) of view b and (``both``) of view a, each computed from its own view, and,
    for a learned strategy, the slots they came from: (masks_b, masks_a, slots_b, slots_a).

    A learned strategy proposes the slots of each view (``propose``: slots per image batch, through
    DDP under torchrun), then draws the masks of both views together
    (:meth:`masks.LearnedStrategy.draw_views`: ADIOS-s gives both views the same slot index).
    """
    if is_learned(strategy):
        slots_b, slots_a = propose(views.b, views.a) if both else (*propose(views.b), None)
        masks_b, masks_a = strategy.draw_views(slots_b, slots_a, g)
        return masks_b, masks_a, slots_b, slots_a
    masks_b = strategy(views.b, g, views.instances_b)
    masks_a = strategy(views.a, g, views.instances_a) if both else None
    return masks_b, masks_a, None, None


def train_step(
    objective: Objective,
    strategy: MaskStrategy | LearnedStrategy,
    views: Views,
    g: torch.Generator,
    optimizer: torch.optim.Optimizer,
    mask_optimizer: torch.optim.Optimizer | None,
    autocast: Callable[[], contextlib.AbstractContextManager],
    model: torch.nn.Module | None = None,
    propose: Callable[..., tuple[Tensor, ...]] | None = None,
) -> StepResult:
    """One iteration on one batch: masks, the encoder step, then (learned strategies) the mask step (docs/method.md §3).

    ``model`` is the objective as the encoder step calls it and ``propose`` a learned strategy's
    proposals (:func:`adios.engine.distributed.replicate`: DDP wrappers under torchrun, which average
    the gradients over the ranks); by default the objective and ``strategy.propose``. The losses
    returned are their means over the ranks.
    """
    a, b = views.a, views.b
    both = objective.masks_both_views
    model = objective if model is None else model
    if propose is None and is_learned(strategy):
        propose = distributed.Proposals(strategy)

    # 1. Masks of the masked view(s), each computed from its own view. A learned strategy's slots
    #    keep their graph: the mask step below reuses this one forward of the occlusion model.
    t0 = time.perf_counter()
    with autocast():
        masks_b, masks_a, slots_b, slots_a = _propose_and_draw(strategy, propose, views, both, g)
    synchronize(b.device)
    mask_seconds = time.perf_counter() - t0

    # 2. Encoder step: minimise the objective over encoder and heads, masks held fixed.
    labels = {"labels": views.labels} if objective.uses_labels else {}
    with autocast():
        loss = model(a, b, masks_b.detach(), None if masks_a is None else masks_a.detach(), **labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()

    # 3. Mask step (learned strategies): maximise objective - alpha * penalty over the occlusion
    #    model, through the frozen (just updated) encoder and heads. ADIOS-s draws its own slots here.
    #    The objective is called unwrapped: frozen, it has no gradients to average.
    mask_loss = None
    if mask_optimizer is not None:
        with frozen(objective), autocast():
            masks_b, masks_a = strategy.draw_views(slots_b, slots_a, g)
            penalty = strategy.penalty(slots_b) + (strategy.penalty(slots_a) if both else 0.0)
            adversary = -objective.loss(a, b, masks_b, masks_a) + strategy.alpha * penalty
        mask_optimizer.zero_grad(set_to_none=True)
        adversary.backward()
        mask_optimizer.step()
        mask_loss = adversary.detach()
    loss_value, mask_value = distributed.averaged(loss.detach(), mask_loss)
    return StepResult(loss=loss_value, mask_loss=mask_value, mask_seconds=mask_seconds)


class PassCounter:
    """Counts the images that go through every encoder of the objective (online and target) in training mode."""

    def __init__(self, objective: Objective) -> None:
        self.images = 0
        self._handles = [m.register_forward_hook(self._hook) for m in objective.modules() if isinstance(m, Encoder)]

    def _hook(self, module, inputs, output) -> None:
        if module.training:  # learning-curve probes run the encoder in eval mode; they are not training passes
            self.images += inputs[0].shape[0]

    def close(self) -> None:
        for h in self._handles:
            h.remove()


#: Called with the objective at a curve point; returns the metrics to record there (e.g. ``{"knn_acc": 0.41}``).
Evaluator = Callable[[Objective], dict[str, float]]


@dataclass
class TrainResult:
    state: TrainState
    steps_per_epoch: int
    batch_size: int

    @property
    def passes_per_image(self) -> float:
        """Encoder forward passes per training image per iteration (2 for plain two-view SSL)."""
        return self.state.encoder_images / max(1, self.state.step * self.batch_size)


def train(
    objective: Objective,
    strategy: MaskStrategy | LearnedStrategy,
    views: PairedViews,
    *,
    epochs: int,
    batch_size: int,
    optimizer: str,
    lr: float,
    weight_decay: float,
    warmup: float,
    optimizer_options: dict | None = None,
    steps: int | None = None,
    precision: str = "fp32",
    device: torch.device | str = "cpu",
    checkpoint: Path | None = None,
    checkpoint_every: int = 0,
    on_step: Callable[[int, int, StepResult], None] | None = None,
    evaluate: Evaluator | None = None,
    eval_every: int = 0,
) -> TrainResult:
    """Train ``objective`` (and a learned ``strategy``) for ``epochs`` (or exactly ``steps``); resume from ``checkpoint``.

    With ``evaluate`` and ``eval_every`` = E > 0, a learning-curve point is recorded before training,
    after every E epochs and at the end. Evaluation runs without gradients and draws no random
    numbers, so the trained weights are the same with or without it.
    """
    device = torch.device(device)
    schedule = Schedule.of(views, batch_size, epochs, steps)
    total = schedule.total
    options = {"fixed_lr": objective.fixed_lr_parameters(), **(optimizer_options or {})}
    opt, sched = make_optimizer(optimizer, objective.parameters(), lr, weight_decay, total, warmup, **options)
    mask_opt = mask_sched = None
    if is_learned(strategy):
        mask_opt, mask_sched = strategy.make_optimizer(total)
    state = TrainState(world_size=distributed.world_size())
    if checkpoint is not None and distributed.from_main(checkpoint.exists()):  # every rank resumes from rank 0's
        state = _load_checkpoint(checkpoint, objective, strategy, opt, sched, mask_opt, mask_sched)
    model, propose = distributed.replicate(objective, strategy, device)  # DDP wrappers under torchrun
    curve_steps = _curve_steps(total, schedule.steps_per_epoch * eval_every) if evaluate is not None else set()

    counter = PassCounter(objective)
    images_before = state.encoder_images
    objective.train()
    if isinstance(strategy, torch.nn.Module):
        strategy.train()
    autocast = functools.partial(precision_context, device, precision)
    try:
        if state.step in curve_steps and not any(p["step"] == state.step for p in state.curve):
            _record_curve_point(state, evaluate, objective, schedule)
        while state.step < total:
            step = state.step
            t0 = time.perf_counter()
            indices, part = distributed.share(schedule.indices(step))  # this rank's slice; part: () or (rank,)
            batch = views(step, indices, *part).to(device)  # already there when the views are made on the device
            g = generator(views.seed, "masks", step, *part, device=device)
            result = train_step(objective, strategy, batch, g, opt, mask_opt, autocast, model, propose)
            if not math.isfinite(result.loss) or (result.mask_loss is not None and not math.isfinite(result.mask_loss)):
                raise Diverged(step + 1, result.loss if not math.isfinite(result.loss) else result.mask_loss)
            sched.step()
            if mask_sched is not None:
                mask_sched.step()
            objective.after_step((step + 1) / total)
            synchronize(device)
            state.train_seconds += time.perf_counter() - t0
            state.mask_seconds += result.mask_seconds
            state.losses.append(result.loss)
            if result.mask_loss is not None:
                state.mask_losses.append(result.mask_loss)
            state.step += 1
            state.encoder_images = images_before + counter.images * distributed.world_size()  # every rank encodes as many
            if state.step in curve_steps:
                _record_curve_point(state, evaluate, objective, schedule)
            if on_step is not None:
                on_step(state.step, total, result)
            saving = checkpoint is not None and checkpoint_every and distributed.is_main()  # only rank 0 writes
            if saving and state.step % checkpoint_every == 0 and state.step < total:
                _save_checkpoint(checkpoint, state, objective, strategy, opt, sched, mask_opt, mask_sched)
    finally:
        counter.close()
    return TrainResult(state=state, steps_per_epoch=schedule.steps_per_epoch, batch_size=schedule.batch_size)


def _curve_steps(total: int, every: int) -> set[int]:
    """The steps after which a curve point is taken: 0, every ``every`` steps, and the last (none if ``every`` is 0)."""
    if every <= 0:
        return set()
    return {*range(0, total, every), total}


def _record_curve_point(state: TrainState, evaluate: Evaluator, objective: Objective, schedule: Schedule) -> None:
    """Evaluate and record a curve point: on rank 0 alone under torchrun, while the other ranks wait."""
    if distributed.is_main():
        t0 = time.perf_counter()
        metrics = evaluate(objective)
        objective.train()
        state.eval_seconds += time.perf_counter() - t0
        epoch = state.step / schedule.steps_per_epoch
        state.curve.append({"epoch": round(epoch, 4), "step": state.step, "encoder_passes": state.encoder_images, **metrics})
    distributed.barrier()


def passes_per_image(
    objective: Objective, strategy: MaskStrategy | LearnedStrategy, views: PairedViews, device: torch.device | str = "cpu"
) -> float:
    """Encoder passes per training image of one full iteration (both steps for learned strategies), counted.

    One step on two images of copies of the models, so nothing of the real run changes: the count
    comes from the forward hooks of :class:`PassCounter`, not from a formula.
    """
    device = torch.device(device)
    objective, strategy = copy.deepcopy(objective), copy.deepcopy(strategy)
    n = min(2, views.images.shape[0])
    batch = views(0, torch.arange(n)).to(device)
    opt = torch.optim.SGD(objective.parameters(), lr=0.0)
    mask_opt = torch.optim.SGD(strategy.parameters(), lr=0.0) if is_learned(strategy) else None
    counter = PassCounter(objective)
    try:
        train_step(objective, strategy, batch, generator(0, "passes"), opt, mask_opt, contextlib.nullcontext)
    finally:
        counter.close()
    return counter.images / n


def _save_checkpoint(path, state, objective, strategy, opt, sched, mask_opt, mask_sched) -> None:
    atomic_torch_save(
        {
            "state": state.__dict__,
            "objective": objective.state_dict(),
            "strategy": strategy.state_dict() if isinstance(strategy, torch.nn.Module) else None,
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "mask_optimizer": None if mask_opt is None else mask_opt.state_dict(),
            "mask_scheduler": None if mask_sched is None else mask_sched.state_dict(),
            "momentum": getattr(objective, "momentum", None),
        },
        path,
    )


CHECKPOINT_KEYS = {"state", "objective", "strategy", "optimizer", "scheduler", "mask_optimizer", "mask_scheduler", "momentum"}


def check_checkpoint(path: Path) -> None:
    """Raise a :class:`UserError` unless ``path`` loads as tensors and plain containers with a checkpoint's keys."""
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
        if not isinstance(ckpt, dict) or set(ckpt) != CHECKPOINT_KEYS:
            raise ValueError("unexpected contents")
    except Exception as error:
        raise UserError(
            f"{path} is not an adios checkpoint ({type(error).__name__}); delete it to restart that run from scratch"
        ) from None


def _load_checkpoint(path, objective, strategy, opt, sched, mask_opt, mask_sched) -> TrainState:
    """Restore a checkpoint: tensors and plain containers only (``weights_only``), so a crafted file runs no code."""
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
        objective.load_state_dict(ckpt["objective"])
        if ckpt["strategy"] is not None:
            strategy.load_state_dict(ckpt["strategy"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        if mask_opt is not None:
            mask_opt.load_state_dict(ckpt["mask_optimizer"])
            mask_sched.load_state_dict(ckpt["mask_scheduler"])
        if ckpt["momentum"] is not None:
            objective.momentum = ckpt["momentum"]
        state = TrainState(**ckpt["state"])
    except Exception as error:  # not ours, another version's, or crafted: never guess
        raise UserError(
            f"{path} is not a checkpoint of this run ({type(error).__name__}); delete it to restart the run from scratch"
        ) from None
    if state.world_size != distributed.world_size():
        raise UserError(
            f"{path} was written by a run on {state.world_size} process(es), this one has {distributed.world_size()}: "
            "resume it with as many (torchrun --nproc-per-node), or delete it to restart the run from scratch"
        )
    return state
