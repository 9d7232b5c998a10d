"""What one GPU does with adios (issue 12): throughput, peak memory and the fraction of the card's bf16 peak.

    bash benchmarks/gpu_check.sh                         # the prepared check on a GPU machine (runs this, then more)
    PYTHONPATH=$PWD .venv/bin/python benchmarks/gpu_check.py --device cpu --steps 2 --warmup 1 --batch-size 4 \\
        --matmul 512 --paper-images 8 --paper-batch 4 --paper-strategies none     # exercise every part on a CPU

Prints markdown, in three parts:

1. **The card** (``torch.cuda.get_device_name``) and its measured bf16 peak: the median FLOP/s of a
   large bf16 matmul (2 n³ FLOPs per product).
2. **Training throughput** of ``none``, ``mae``, ``adios-s`` and ``adios``: SimCLR with ResNet18 on
   96 px ``shapes``, with the paper preset's heads, optimiser (LARS) and mask options (N = 6), bf16
   autocast, channels_last, through the trainer's own loop (``adios.engine.trainer.train``: views
   made per step, then ``train_step``). ``--warmup`` steps, then ``--steps`` timed ones: images/s,
   peak memory (``torch.cuda.max_memory_allocated``), the FLOPs of one step counted with
   ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and convolutions, forward and backward, on
   copies of the models) and the achieved fraction of the measured peak.
3. **The paper preset end to end**: ``adios compare --preset paper`` for one epoch on STL-10-format
   files of random pixels written here, through the command line; its exit status and wall time.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import adios  # noqa: F401  (registers every strategy)
from adios.data import load_dataset
from adios.engine.seeding import generator
from adios.engine.trainer import precision_context, synchronize, train, train_step
from adios.engine.views import PairedViews
from adios.runner.presets import preset
from adios.runner.run import augment_settings, build_models, build_strategy, fit_strategy

STRATEGIES = ("none", "mae", "adios-s", "adios")


def bf16_peak(device: torch.device, n: int, repeats: int = 10) -> float:
    """The median FLOP/s of an (n x n) @ (n x n) bf16 matmul on ``device``."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        a @ b
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times)


def step_flops(objective, strategy, views: PairedViews, batch_size: int, device: torch.device) -> int:
    """FLOPs (forward and backward) of one ``train_step`` on one batch, counted on copies of the models."""
    objective, strategy = copy.deepcopy(objective), copy.deepcopy(strategy)
    batch = views(0, torch.arange(batch_size)).to(device)
    opt = torch.optim.SGD(objective.parameters(), lr=0.0)
    mask_opt = torch.optim.SGD(strategy.parameters(), lr=0.0) if isinstance(strategy, torch.nn.Module) else None
    autocast = lambda: precision_context(device, "bf16")  # noqa: E731
    with FlopCounterMode(display=False) as counter:
        train_step(objective, strategy, batch, generator(0, "flops", device=device), opt, mask_opt, autocast)
    return counter.get_total_flops()


def throughput(name: str, data, args, device: torch.device, peak: float) -> dict[str, float | str]:
    """Train ``name`` for warm-up + timed steps; images/s, peak memory, FLOPs per step and the fraction of ``peak``."""
    settings = preset("paper", "simclr").replace(dataset="shapes", batch_size=args.batch_size)
    _, objective = build_models(settings, data, device)
    strategy = build_strategy(name, settings.mask_options, settings.seed, data)
    fit_strategy(strategy, name, data.normalise(data.train_images[:, 0]), None)
    if isinstance(strategy, torch.nn.Module):
        strategy.to(device)
    views = PairedViews(data, augment_settings(settings), settings.seed, device=device)
    flops = step_flops(objective, strategy, views, args.batch_size, device)
    marks: dict[int, float] = {}

    def on_step(step: int, total: int, result) -> None:  # train() synchronises the device before this
        marks[step] = time.perf_counter()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    total = args.warmup + args.steps
    options = {"lars_clip": settings.lars_clip, "lars_eta": settings.lars_eta}
    t0 = time.perf_counter()
    train(
        objective,
        strategy,
        views,
        epochs=1,
        batch_size=args.batch_size,
        optimizer=settings.optimizer,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        warmup=settings.warmup,
        optimizer_options=options,
        steps=total,
        precision="bf16",
        device=device,
        on_step=on_step,
    )
    seconds = marks[total] - (marks[args.warmup] if args.warmup else t0)
    memory = f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f}" if device.type == "cuda" else "-"
    return {
        "images/s": args.steps * args.batch_size / seconds,
        "s/step": seconds / args.steps,
        "memory GiB": memory,
        "TFLOP/step": flops / 1e12,
        "of peak": flops * args.steps / seconds / peak,
    }


def write_stl10(root: Path, n: int) -> Path:
    """STL-10's binary format with ``n`` random 96 px images per split (labels 1..10), as ``root/stl10_binary``."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8).transpose(0, 1, 3, 2).tofile(folder / f"{split}_X.bin")
        (np.arange(n) % 10 + 1).astype(np.uint8).tofile(folder / f"{split}_y.bin")
    return root


def paper_run(args, device: torch.device) -> tuple[int, float, str]:
    """``adios compare --preset paper`` for one epoch on written STL-10 files: (exit status, seconds, last lines)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_stl10(Path(tmp) / "data", args.paper_images)
        command = [sys.executable, "-m", "adios", "compare", "--preset", "paper", "--data-dir", str(root)]
        command += ["--strategies", args.paper_strategies, "--baseline", args.paper_strategies.split(",")[0]]
        command += ["--epochs", "1", "--batch-size", str(args.paper_batch), "--device", str(device.type)]
        command += ["--out", str(Path(tmp) / "out")]
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        return done.returncode, time.perf_counter() - t0, tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (the check) or cpu (to exercise the script)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per strategy")
    parser.add_argument("--warmup", type=int, default=5, help="untimed training steps first")
    parser.add_argument("--batch-size", type=int, default=256, help="the paper preset's batch")
    parser.add_argument("--matmul", type=int, default=8192, help="side of the bf16 matmul that measures the peak")
    parser.add_argument("--paper-images", type=int, default=512, help="images per split of the written STL-10")
    parser.add_argument("--paper-batch", type=int, default=256)
    parser.add_argument("--paper-strategies", default="none,adios-s,adios")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA GPU: pass --device cpu to exercise the script")

    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    peak = bf16_peak(device, args.matmul)
    print(f"## {card}\n\ntorch {torch.__version__}; measured bf16 peak: {peak / 1e12:.1f} TFLOP/s ({args.matmul}² matmul)\n")

    data = load_dataset("shapes", None, 96, n_train=max(2 * args.batch_size, 64), n_test=64)
    print(f"### Training: SimCLR, ResNet18, 96 px shapes, batch {args.batch_size}, paper preset, bf16\n")
    print(f"{args.steps} timed steps after {args.warmup} warm-up steps.\n")
    print("| strategy | images/s | s/step | peak memory GiB | TFLOP/step | of bf16 peak |")
    print("|---|---|---|---|---|---|")
    for name in STRATEGIES:
        r = throughput(name, data, args, device, peak)
        print(
            f"| {name} | {r['images/s']:.0f} | {r['s/step']:.3f} | {r['memory GiB']} | "
            f"{r['TFLOP/step']:.2f} | {100 * r['of peak']:.1f}% |",
            flush=True,
        )
        if device.type == "cuda":
            torch.cuda.empty_cache()

    status, seconds, tail = paper_run(args, device)
    print(f"\n### `adios compare --preset paper`, 1 epoch of {args.paper_images} STL-10-format images\n")
    print(f"strategies {args.paper_strategies}, batch {args.paper_batch}: exit {status} in {seconds:.0f} s\n")
    print("```\n" + tail + "\n```")
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
