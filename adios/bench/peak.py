"""The device's matrix-multiply peak: large square matmuls, the median of repeats, in GFLOP/s."""

from __future__ import annotations

import torch

from adios.bench.timing import Timings, timed


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int, repeats: int) -> dict[str, float]:
    """GFLOP/s of an (n x n) @ (n x n) product in ``dtype`` (2 n^3 FLOPs): median and best of ``repeats``, after one warm-up."""
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    times = Timings()
    for i in range(repeats + 1):
        sample = timed(lambda: torch.mm(a, b, out=out), device)
        if i:
            times.add(sample)
    flops = 2 * n**3
    return {
        "n": n,
        "repeats": repeats,
        "gflops": flops / times.median / 1e9,
        "best_gflops": flops / min(times.wall) / 1e9,
        "seconds": times.median,
    }
