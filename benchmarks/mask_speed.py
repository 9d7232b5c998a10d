"""How long the static strategies take to draw masks, next to one training step of the default encoder.

    .venv/bin/python benchmarks/mask_speed.py                   # batch 256 at 32 and 96 px, all threads
    .venv/bin/python benchmarks/mask_speed.py --threads 1 --sizes 32

For every size, ``--rounds`` rounds, each timing one ``none`` training step
(``adios.engine.trainer.train_step`` of the ``RunSettings()`` default objective and encoder, built as
``adios.runner.run.build_models`` builds them, with bf16 autocast and channels_last) and then one mask draw
of every strategy: interleaved, so the step and the draws meet the same machine state (on a shared
machine that state drifts over seconds), and each draw follows a step as it does in training. Prints
a markdown table of median mask time / median step time, and the sift-bovw fit time separately. The
target is <= 5% of the step for every static strategy. Two more rows time the sift-bovw descriptor
alone: ``CellSIFT`` as used, and kornia's ``SIFTDescriptor`` on the whole batch of cells, which it
reproduces.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from kornia.feature import SIFTDescriptor

import baselines  # noqa: F401  (registers the static strategies)
import masks
from adios.bench.steps import instance_maps, step_contender, synthetic_views
from adios.bench.timing import interleaved
from adios.runner.settings import RunSettings
from baselines.sift_bovw import SiftBoVW, cell_patches

STEP = "none step"
DESCRIPTOR = "sift-bovw descriptor alone"

STRATEGIES: list[tuple[str, dict]] = [
    ("random-patch", {}),
    ("mae", {}),
    ("context-encoder", {"mode": "center"}),
    ("context-encoder", {"mode": "random-block"}),
    ("context-encoder", {"mode": "random-region"}),
    ("beit", {}),
    ("sift-bovw", {}),
    ("ground-truth", {}),
]


def whole_batch(kornia_sift: SIFTDescriptor, strategy: SiftBoVW, images: torch.Tensor) -> torch.Tensor:
    """kornia's SIFTDescriptor on all the cells of ``images`` in one call: what CellSIFT reproduces."""
    with torch.no_grad():
        return kornia_sift(cell_patches(images, strategy.cell(images.shape[-2])))


def none_step(size: int, batch: int, device: torch.device) -> Callable[[int], object]:
    """One `none` training step of the default objective and encoder (as ``adios bench`` times it), channels_last views."""
    contender = step_contender("none", RunSettings(image_size=size, batch_size=batch), device, torch.empty(0))
    views = synthetic_views(batch, size, 0, device)
    views.a, views.b = (v.contiguous(memory_format=torch.channels_last) for v in (views.a, views.b))
    return lambda round_: contender.step(views, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 96])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=21, help="timed rounds of one step and one draw per strategy")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch {args.batch}, {args.rounds} rounds\n")

    rows: dict[str, dict[int, float]] = {}
    steps: dict[int, float] = {}
    fits: dict[int, float] = {}
    for size in args.sizes:
        g = torch.Generator().manual_seed(size)
        images = torch.randn(args.batch, 3, size, size, generator=g).to(device)
        instances = instance_maps(args.batch, size, g).to(device)
        fns: dict[str, Callable[[int], object]] = {STEP: none_step(size, args.batch, device)}
        for name, options in STRATEGIES:
            strategy = masks.build(name, image_size=size, **options)
            start = time.perf_counter()
            strategy.fit(torch.randn(2000, 3, size, size, generator=g).to(device) if name == "sift-bovw" else images)
            if name == "sift-bovw":
                fits[size] = time.perf_counter() - start
            mask_g = torch.Generator(device=device).manual_seed(0)

            def draw(round_, strategy=strategy, mask_g=mask_g, images=images, instances=instances):
                with torch.no_grad():
                    return strategy(images, mask_g, instances)

            fns[name + "".join(f" {v}" for v in options.values())] = draw
        sift = masks.build("sift-bovw", image_size=size)
        kornia_sift = SIFTDescriptor(patch_size=sift.cell(size)).to(device)
        fns[f"{DESCRIPTOR}: CellSIFT, as used"] = lambda round_, sift=sift, images=images: sift.descriptors(images)
        fns[f"{DESCRIPTOR}: kornia SIFTDescriptor"] = lambda round_, k=kornia_sift, s=sift, i=images: whole_batch(k, s, i)
        medians = {name: t.median for name, t in interleaved(fns, 1, args.rounds, device).items()}
        steps[size] = medians.pop(STEP)
        for label, seconds in medians.items():
            rows.setdefault(label, {})[size] = seconds

    header = " | ".join(f"{s} px mask ms | % of step" for s in args.sizes)
    print(f"| strategy | {header} |")
    print("|---|" + "---|---|" * len(args.sizes))
    for label, times in rows.items():
        cells = " | ".join(f"{1000 * times[s]:.1f} | {100 * times[s] / steps[s]:.1f}%" for s in args.sizes)
        print(f"| {label} | {cells} |")
    print("| *none step (ms)* | " + " | ".join(f"{1000 * steps[s]:.0f} | " for s in args.sizes) + "|")
    print("\nsift-bovw fit (2000 images): " + ", ".join(f"{s} px {fits[s]:.1f} s" for s in args.sizes))


if __name__ == "__main__":
    main()
