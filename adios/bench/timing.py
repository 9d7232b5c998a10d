"""Timing side by side: contenders called in turn, round after round, so a drifting machine hits them alike.

Every call is timed in wall-clock seconds (the figure reported) and in process CPU seconds (all
threads; on a machine shared with other jobs, CPU seconds show how much of the wall time was
spent computing). CUDA work is synchronised before each clock reading.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so a clock around it measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timings:
    """Wall and process CPU seconds of the timed calls of one contender."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median wall seconds (NaN when nothing was timed)."""
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def median_cpu(self) -> float:
        """Median process CPU seconds (NaN when nothing was timed)."""
        return statistics.median(self.cpu) if self.cpu else float("nan")


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float, object]:
    """(wall seconds, process CPU seconds, result) of one call of ``fn``."""
    synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    synchronize(device)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def interleaved(fns: dict[str, Callable[[int], object]], warmup: int, repeats: int, device: torch.device) -> dict[str, Timings]:
    """Call every ``fns`` entry once per round (with the round number), ``warmup`` + ``repeats`` rounds;
    time the last ``repeats`` rounds."""
    times = {name: Timings() for name in fns}
    for round_ in range(warmup + repeats):
        for name, fn in fns.items():
            wall, cpu, _ = timed(functools.partial(fn, round_), device)
            if round_ >= warmup:
                times[name].wall.append(wall)
                times[name].cpu.append(cpu)
    return times
