"""What one ADIOS training step costs: the published per-mask loop against the project's step.

    .venv/bin/python benchmarks/adios_step.py                        # batch 256, 32 px, N = 6, CPU (1 thread) or CUDA
    .venv/bin/python benchmarks/adios_step.py --steps 3 --warmup 1   # a quick look
    .venv/bin/python benchmarks/adios_step.py --threads 0            # all of torch's CPU threads

Four steps, timed side by side in one process (interleaved, one step of each per round, so that a
shared machine's load hits them alike), on the ``RunSettings()`` defaults: resnet-tiny at 32 px,
SimCLR heads as ``adios.runner.run.build_models`` builds them, bf16 autocast, channels_last, batch 256:

(a) **naive ADIOS**, the published algorithm (Shi et al., ICML 2022; YugeTen/adios
    ``simclr_adios.py``): the encoder step loops over the N masks, encoding the clean view a and the
    masked view b*(1-m_n) each time; the mask step runs the occlusion model again and loops again
    through the frozen encoder (2N encoder passes per step, 4N per iteration);
(b) **ADIOS**, ``adios.engine.trainer.train_step`` with ``masks.build("adios")``: one occlusion forward shared by
    both steps, a encoded once per step and the N masked views in one batched forward (2N + 2 passes);
(c) **ADIOS-s**, the same step with one drawn slot per sample (4 passes);
(d) **none**, plain SimCLR (2 passes).

Prints the median seconds per step after the warm-up, the ratios, and the encoder passes per image
(counted with forward hooks), as a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace

import torch

import adios  # noqa: F401  (registers every strategy)
import masks
from adios.engine.objectives import frozen
from adios.engine.objectives.simclr import nt_xent
from adios.engine.optim import make_optimizer
from adios.engine.seeding import generator, global_seed
from adios.engine.trainer import PassCounter, precision_context, synchronize, train_step
from adios.engine.views import Views
from adios.runner.run import build_models
from adios.runner.settings import RunSettings


def naive_adios_step(objective, strategy, views: Views, g: torch.Generator, optimizer, mask_optimizer, autocast) -> None:
    """The published SimCLR-ADIOS iteration, mask by mask (same maths as ``train_step``, more passes)."""
    a, b = views.a, views.b
    enc, proj, t = objective.encoder, objective.projector, objective.temperature

    # Encoder step ("inpaint_forward"): the occlusion model's forward (with autograd on, as published),
    # then for every mask: encode a and the masked b, NT-Xent; sum over the masks.
    with autocast():
        slots = strategy.propose(b)  # (B, N, H, W)
        loss = 0.0
        for n in range(slots.shape[1]):
            m = slots[:, n : n + 1].detach()
            loss = loss + nt_xent(proj(enc(a)), proj(enc(b * (1 - m))).unsqueeze(0), t)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()

    # Mask step ("mask_forward"): the masks recomputed, the loop again through the frozen encoder.
    with frozen(objective), autocast():
        slots = strategy.propose(b)
        total = 0.0
        for n in range(slots.shape[1]):
            m = slots[:, n : n + 1]
            total = total + nt_xent(proj(enc(a)), proj(enc(b * (1 - m))).unsqueeze(0), t)
        adversary = -total + strategy.alpha * strategy.penalty(slots)
    mask_optimizer.zero_grad(set_to_none=True)
    adversary.backward()
    mask_optimizer.step()


class Contender:
    """One kind of step with its own models and optimisers, all initialised from the same seed."""

    def __init__(self, label: str, strategy_name: str, step: Callable, settings: RunSettings, n_masks: int, device, total: int):
        self.label, self.step_fn, self.device = label, step, device
        _, self.objective = build_models(settings, SimpleNamespace(image_size=settings.image_size), device)
        with global_seed(settings.seed, "strategy-init"):
            self.strategy = masks.build(strategy_name, image_size=settings.image_size, n_masks=n_masks)
        if isinstance(self.strategy, torch.nn.Module):
            self.strategy.to(device)
        params = self.objective.parameters()
        self.opt, _ = make_optimizer(settings.optimizer, params, settings.lr, settings.weight_decay, total, settings.warmup)
        self.mask_opt = self.strategy.make_optimizer(total)[0] if masks.is_learned(self.strategy) else None
        self.autocast = functools.partial(precision_context, device, settings.precision)
        self.times: list[float] = []
        self.counter = PassCounter(self.objective)
        self.counted_steps = 0

    def run(self, views: Views, step: int, timed: bool) -> None:
        g = generator(0, "masks", step, device=self.device)
        images_before = self.counter.images
        synchronize(self.device)
        start = time.perf_counter()
        self.step_fn(self.objective, self.strategy, views, g, self.opt, self.mask_opt, self.autocast)
        synchronize(self.device)
        if timed:
            self.times.append(time.perf_counter() - start)
        else:
            self.counter.images = images_before  # passes are counted on the timed steps only
        self.counted_steps += timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per contender first")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-masks", type=int, default=6, help="N")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads (default 1: on a shared 2-core machine two threads spin against other jobs and run "
        "many times slower; 0: torch's default)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    settings = RunSettings()
    total = 10_000  # schedule length: the learning rates are irrelevant to the timing

    def efficient(objective, strategy, views, g, opt, mask_opt, autocast):
        train_step(objective, strategy, views, g, opt, mask_opt, autocast)

    contenders = [
        Contender("(a) naive ADIOS (per-mask loop)", "adios", naive_adios_step, settings, args.n_masks, device, total),
        Contender("(b) ADIOS (train_step)", "adios", efficient, settings, args.n_masks, device, total),
        Contender("(c) ADIOS-s (train_step)", "adios-s", efficient, settings, args.n_masks, device, total),
        Contender("(d) none (train_step)", "none", efficient, settings, args.n_masks, device, total),
    ]
    g = torch.Generator().manual_seed(0)
    size, batch = settings.image_size, args.batch_size
    for step in range(args.warmup + args.steps):
        a = torch.randn(batch, 3, size, size, generator=g).to(device)
        b = torch.randn(batch, 3, size, size, generator=g).to(device)
        views = Views(a=a, b=b, instances_a=None, instances_b=None, labels=torch.zeros(batch, dtype=torch.long))
        for contender in contenders:
            contender.run(views, step, timed=step >= args.warmup)

    medians = {c.label: statistics.median(c.times) for c in contenders}
    naive, none = medians[contenders[0].label], medians[contenders[-1].label]
    threads = torch.get_num_threads() if device.type == "cpu" else "-"
    print(
        f"\nbatch {batch}, {size} px, N = {args.n_masks}, {settings.encoder}, {settings.objective}, "
        f"{settings.precision} autocast, channels_last; device {device} (threads {threads}); "
        f"median of {args.steps} steps after {args.warmup} warm-up\n"
    )
    print("| step | s / step (median) | images / s | naive / this | this / none | encoder passes / image |")
    print("|---|---|---|---|---|---|")
    for c in contenders:
        m = medians[c.label]
        passes = c.counter.images / max(1, c.counted_steps * batch)
        print(f"| {c.label} | {m:.3f} | {batch / m:.0f} | {naive / m:.2f}x | {m / none:.2f}x | {passes:g} |")
    for c in contenders:
        c.counter.close()
    print(f"\nfull ADIOS step: {naive / medians[contenders[1].label]:.2f}x faster than the per-mask loop")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
