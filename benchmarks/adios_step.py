"""What one ADIOS training step costs: the published per-mask loop against the project's step (issue 4).

    .venv/bin/python benchmarks/adios_step.py                        # batch 256, 32 px, N = 6, c = 32, 1 CPU thread
    .venv/bin/python benchmarks/adios_step.py --steps 3 --warmup 1   # a quick look
    .venv/bin/python benchmarks/adios_step.py --threads 0            # all of torch's CPU threads

The measurement itself is ``adios bench``'s (:func:`adios.bench.steps.run_cell`): the contenders below
timed side by side in one process, one step of each per round, each with its own models built as a
run builds them (resnet-tiny, SimCLR, bf16 autocast, channels_last), on the quick preset's settings
with this script's batch, N and c:

(a) **naive ADIOS**, the published algorithm (:mod:`adios.bench.naive`: 2N encoder passes per step, 4N per iteration);
(b) **ADIOS**, ``adios.engine.trainer.train_step`` (2N + 2 passes);
(c) **ADIOS-s**, one drawn slot per sample (4 passes);
(d) **none**, plain SimCLR (2 passes);

and the occlusion model's forward and backward alone. ``adios bench`` runs the same at the quick
preset's N = 4, c = 16, batch 128. Prints a markdown table: median seconds per step, images/s, the
ratios, encoder passes per image (counted with forward hooks).
"""

from __future__ import annotations

import argparse
import contextlib

import torch

import adios  # noqa: F401  (registers every strategy)
from adios.bench.steps import NAIVE, OCCLUSION, cell_settings, run_cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per contender first")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-masks", type=int, default=6, help="N")
    parser.add_argument("--mask-channels", type=int, default=32, help="c, the occlusion UNet's base width")
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
    base = cell_settings("resnet-tiny", 32)
    mask_options = {**base.mask_options, "n_masks": args.n_masks, "mask_channels": args.mask_channels}
    overrides = {"batch_size": args.batch_size, "mask_options": mask_options}
    result = run_cell(
        "resnet-tiny", 32, ["none", "adios-s", "adios"], device, args.warmup, args.steps, log=print, overrides=overrides
    )
    rows = result.rows
    naive, none = rows[NAIVE]["seconds"], rows["none"]["seconds"]
    threads = torch.get_num_threads() if device.type == "cpu" else "-"
    print(
        f"\nbatch {result.batch}, 32 px, N = {args.n_masks}, c = {args.mask_channels}, resnet-tiny, simclr, bf16 autocast, "
        f"channels_last; device {device} (threads {threads}); median of {args.steps} steps after {args.warmup} warm-up\n"
    )
    print("| step | s / step (median) | images / s | naive / this | this / none | encoder passes / image |")
    print("|---|---|---|---|---|---|")
    for label, name in [(NAIVE, "(a) naive ADIOS (per-mask loop)"), ("adios", "(b) ADIOS (train_step)"),
                        ("adios-s", "(c) ADIOS-s (train_step)"), ("none", "(d) none (train_step)")]:  # fmt: skip
        r = rows[label]
        print(
            f"| {name} | {r['seconds']:.3f} | {r['images_per_s']:.0f} | {naive / r['seconds']:.2f}x "
            f"| {r['seconds'] / none:.2f}x | {r['passes_per_image']:g} |"
        )
    print(
        f"| occlusion model forward + backward alone | {rows[OCCLUSION]['seconds']:.3f} | | | {rows[OCCLUSION]['seconds'] / none:.2f}x | |"
    )
    print(f"\nfull ADIOS step: {naive / rows['adios']['seconds']:.2f}x faster than the per-mask loop")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
