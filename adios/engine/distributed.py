"""Data-parallel training under ``torchrun`` (docs/cluster.md): the process group, collectives, and DDP wrappers.

Under ``torchrun --nproc-per-node G`` every process (rank) trains on its slice of the same global
batch. Without a process group, or with one process, every function here is the identity or a
no-op, so a single-process run computes exactly what it computed before DDP existed.

* :func:`process_group`: joins the group of a torchrun launch (NCCL on CUDA, gloo on the CPU).
* :func:`gather_rows`: concatenates a tensor over the ranks *with gradients* (SimCLR's negatives,
  the synchronised batch-norm statistics).
* :func:`replicate`: the objective and a learned strategy's proposals wrapped in DDP, which averages
  their gradients; every :class:`~adios.engine.encoders.ChunkBatchNorm` then computes its per-chunk
  statistics over all ranks.
* :func:`share`: this rank's slice of a step's batch; :func:`is_main`, :func:`main_first`,
  :func:`from_main`, :func:`barrier`: only rank 0 writes, the others wait.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from adios.errors import UserError
from masks import is_learned

T = TypeVar("T")

#: How long a rank waits in a collective. Rank 0 alone probes the encoder, writes figures and may wait
#: for another process's run lock (two commands on one --out) while the other ranks wait for it.
TIMEOUT = timedelta(hours=24)


def launched_world_size() -> int:
    """The number of processes torchrun started (``WORLD_SIZE``; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    """This process's index on its machine (``LOCAL_RANK``; 0 without torchrun): its GPU."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def world_size() -> int:
    """The number of ranks training together: 1 without a process group."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank: 0 without a process group."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """Whether this is rank 0, the process that writes results, checkpoints and logs, and prints."""
    return rank() == 0


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[None]:
    """Inside the block, the process group of a torchrun launch (``WORLD_SIZE`` > 1) on ``device``; else nothing.

    The backend is NCCL on CUDA and gloo on the CPU; ``device`` is this rank's (``cuda:LOCAL_RANK``).
    """
    if launched_world_size() <= 1 or dist.is_initialized():
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=TIMEOUT)
    try:
        yield
    finally:
        dist.destroy_process_group()


def describe(device: torch.device) -> str:
    """The device of a run's record: ``cuda:0``, or ``2 x cuda (nccl)`` for a run on two ranks."""
    if world_size() == 1:
        return str(device)
    return f"{world_size()} x {device.type} ({dist.get_backend()})"


def barrier() -> None:
    """Wait until every rank gets here (nothing with one process)."""
    if world_size() > 1:
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


def from_main(value: T) -> T:
    """Rank 0's ``value`` on every rank (a picklable object); ``value`` itself with one process."""
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. fills a cache), then the other ranks run it (e.g. read the cache)."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def share(indices: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    """This rank's slice of a global batch, and what its random streams add to their index: () in one process,
    (rank,) under torchrun, so that each rank draws views and masks of its own.

    The batch is cut into equal consecutive slices in rank order, so the ranks' slices, gathered in
    rank order, are the global batch.
    """
    n = world_size()
    if n == 1:
        return indices, ()
    if len(indices) % n:
        raise ValueError(f"a batch of {len(indices)} does not split evenly over {n} ranks")
    return indices.view(n, -1)[rank()], (rank(),)


def check_batch_size(batch_size: int) -> None:
    """A one-line user error when the global batch does not split evenly over the ranks (or is smaller than their number)."""
    n = world_size()
    if batch_size % n:
        raise UserError(
            f"--batch-size {batch_size} does not split evenly over the {n} processes of torchrun (each takes an equal "
            f"share of every batch); use a multiple of {n}, or fewer processes (--nproc-per-node)"
        )


class _GatherRows(torch.autograd.Function):
    """All-gather along a dimension, in rank order; the backward sums every rank's gradient and keeps this rank's part."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        parts = [torch.empty_like(x) for _ in range(world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        grad = grad.contiguous()
        dist.all_reduce(grad)  # every rank's loss may depend on this rank's rows
        return grad.chunk(world_size(), ctx.dim)[rank()], None


def gather_rows(x: Tensor, dim: int = 0) -> Tensor:
    """``x`` of every rank, concatenated along ``dim`` in rank order, with gradients; ``x`` itself with one process.

    Every rank must pass a tensor of the same shape. The gradient that reaches ``x`` is the sum of
    the gradients of every rank's use of it, so each rank's loss may use the rows of all of them.
    """
    if world_size() == 1:
        return x
    return _GatherRows.apply(x, dim)


def averaged(*values: Tensor | None) -> list[float | None]:
    """The mean over the ranks of each scalar, as floats (one all-reduce); None stays None. One process: the values."""
    if world_size() == 1:
        return [None if v is None else float(v) for v in values]
    present = [v for v in values if v is not None]
    stacked = torch.stack([v.detach().float().reshape(()) for v in present])
    dist.all_reduce(stacked)
    means = iter((stacked / world_size()).tolist())
    return [None if v is None else next(means) for v in values]


class Proposals(nn.Module):
    """A learned strategy's ``propose`` as a ``forward`` (what DDP wraps): the slots of each image batch."""

    def __init__(self, strategy: nn.Module) -> None:
        super().__init__()
        self.strategy = strategy

    def forward(self, *images: Tensor) -> tuple[Tensor, ...]:
        return tuple(self.strategy.propose(x) for x in images)


def replicate(objective: nn.Module, strategy: object, device: torch.device) -> tuple[nn.Module, nn.Module | None]:
    """The objective as the encoder step calls it, and (a learned strategy) its proposals as the trainer calls them.

    Under torchrun both are wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`, which
    broadcasts rank 0's weights now and averages the gradients in every backward, and the
    objective's batch norms are synchronised. Only parameters that require gradients are averaged
    (BYOL's EMA target is not: every rank updates it from the same averaged weights). With one process,
    the objective itself and the strategy's proposals. State dicts are taken from the unwrapped modules.
    """
    proposals = Proposals(strategy) if is_learned(strategy) else None
    if world_size() == 1:
        return objective, proposals
    from adios.engine.encoders import synchronise_batch_norms  # here: the encoders module imports this one

    synchronise_batch_norms(objective)
    ids = [device.index] if device.type == "cuda" else None

    def wrap(module: nn.Module) -> nn.Module:
        # every trainable parameter takes part in every step (find_unused_parameters off); batch-norm
        # statistics are equal on every rank already (synchronised), so buffers are not re-broadcast
        return nn.parallel.DistributedDataParallel(module, device_ids=ids, forward_sync_buffers=False)

    return wrap(objective), None if proposals is None else wrap(proposals)
