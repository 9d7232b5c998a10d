"""Timing side by side: contenders called in turn, round after round, so a drifting machine hits them alike.

Every call is timed in wall-clock seconds (the figure reported) and in process CPU seconds (all
threads; on a machine shared with other jobs, CPU seconds show how much of the wall time was
spent computing), and its minor page faults and system CPU seconds are counted (``getrusage``: the
kernel's time to map fresh pages for large tensors). CUDA work is synchronised before each clock reading.
"""

from __future__ import annotations

import functools
import resource
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
    system: list[float] = field(default_factory=list)
    faults: list[int] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.wall.append(sample.wall)
        self.cpu.append(sample.cpu)
        self.system.append(sample.system)
        self.faults.append(sample.faults)

    @property
    def median(self) -> float:
        """Median wall seconds (NaN when nothing was timed)."""
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def median_cpu(self) -> float:
        """Median process CPU seconds (NaN when nothing was timed)."""
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def median_system(self) -> float:
        """Median system (kernel) CPU seconds (NaN when nothing was timed)."""
        return statistics.median(self.system) if self.system else float("nan")

    @property
    def median_faults(self) -> float:
        """Median minor page faults per call (NaN when nothing was timed)."""
        return statistics.median(self.faults) if self.faults else float("nan")


@dataclass
class Sample:
    """One timed call."""

    wall: float
    cpu: float
    system: float
    faults: int
    result: object = None


def timed(fn: Callable[[], object], device: torch.device) -> Sample:
    """Wall and CPU seconds, system seconds and minor page faults of one call of ``fn``, and its result."""
    synchronize(device)
    before, wall, cpu = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter(), time.process_time()
    result = fn()
    synchronize(device)
    wall, cpu, after = time.perf_counter() - wall, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF)
    return Sample(wall, cpu, after.ru_stime - before.ru_stime, after.ru_minflt - before.ru_minflt, result)


def interleaved(
    fns: dict[str, Callable[[int], object]],
    warmup: int,
    repeats: int,
    device: torch.device,
    before_round: Callable[[int], object] | None = None,
) -> dict[str, Timings]:
    """Call every ``fns`` entry once per round (with the round number), ``warmup`` + ``repeats`` rounds;
    time the last ``repeats`` rounds. ``before_round`` (untimed) prepares each round, e.g. its inputs."""
    times = {name: Timings() for name in fns}
    for round_ in range(warmup + repeats):
        if before_round is not None:
            before_round(round_)
        for name, fn in fns.items():
            sample = timed(functools.partial(fn, round_), device)
            if round_ >= warmup:
                times[name].add(sample)
    return times
