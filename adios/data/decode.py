"""Decoding in worker processes, chunk by chunk, with a progress bar on stderr.

A loader describes its images as :class:`Chunk` tasks in row order: a module-level function and its
arguments, returning uint8 images (rows, C, H, W). :func:`decode_chunks` runs them in a process pool
(or in this process for one worker) and yields each result with its chunk's index. The chunks are
fixed by the loader, never by the worker count, so the decoded images do not depend on it.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

CHUNK = 256  # images per task


@dataclass(frozen=True)
class Chunk:
    """One task: ``function(*args)`` returns ``rows`` uint8 images (rows, C, H, W)."""

    function: Callable[..., np.ndarray]
    args: tuple[Any, ...]
    rows: int


def default_workers() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # the pool is the parallelism


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("images"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


def decode_chunks(
    chunks: Sequence[Chunk], workers: int | None = None, description: str = "decoding"
) -> Iterator[tuple[int, np.ndarray]]:
    """Run ``chunks`` on ``workers`` processes (default: the CPU count) and yield ``(index, images)`` as each finishes.

    At most two chunks per worker are in flight, so memory holds a few chunks, not the dataset.
    An exception in a chunk (a :class:`~adios.errors.UserError` naming a bad file) cancels the rest
    and is raised here.
    """
    workers = max(1, min(workers or default_workers(), len(chunks)))
    progress = _progress()
    bar = progress.add_task(description, total=sum(c.rows for c in chunks))
    if workers == 1:
        with progress:
            for index, chunk in enumerate(chunks):
                images = chunk.function(*chunk.args)
                progress.advance(bar, chunk.rows)
                yield index, images
        return
    pool = ProcessPoolExecutor(workers, initializer=_init_worker)
    try:
        queue = iter(enumerate(chunks))
        pending: dict[Future, int] = {}
        for index, chunk in itertools.islice(queue, 2 * workers):  # forks the workers before the progress thread starts
            pending[pool.submit(chunk.function, *chunk.args)] = index
        with progress:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    images = future.result()
                    progress.advance(bar, chunks[index].rows)
                    yield index, images
                    for following, chunk in itertools.islice(queue, 1):
                        pending[pool.submit(chunk.function, *chunk.args)] = following
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def notice(line: str) -> None:
    """One line on stderr (looked up at call time, so tests can capture it)."""
    print(line, file=sys.stderr, flush=True)
