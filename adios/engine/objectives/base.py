"""What every objective shares: an encoder plus heads, and a loss over a clean and K masked views."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from adios.engine.encoders import ChunkBatchNorm1d, Encoder, chunked
from masks.registry import Registry

#: Objectives by CLI name (the class). Plugins use the entry-point group ``adios.objectives``.
OBJECTIVES: Registry = Registry("objective", "adios.objectives")


def mlp(dims: list[int], batch_norm: bool = True, hidden_bias: bool = True, norm_last: bool = False) -> nn.Sequential:
    """Linear layers with (optional BatchNorm +) ReLU between them, and an affine-free BatchNorm last if asked."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        last = i == len(dims) - 2
        layers.append(nn.Linear(d_in, d_out, bias=hidden_bias or last))
        if not last:
            layers += [ChunkBatchNorm1d(d_out), nn.ReLU(inplace=True)] if batch_norm else [nn.ReLU(inplace=True)]
    if norm_last:
        layers.append(ChunkBatchNorm1d(dims[-1], affine=False))
    return nn.Sequential(*layers)


class Objective(nn.Module):
    """An SSL objective: the encoder, its heads and the loss.

    :meth:`loss` takes two clean views ``a`` and ``b`` (B, C, H, W) and masks (B, K, H, W) for the
    view(s) the objective masks, and returns the objective summed over the K masked views
    (docs/method.md §4). The K masked views are encoded in one batched forward with per-view batch-norm
    statistics, so the result equals a loop over the masks.
    """

    masks_both_views: bool = False
    #: The loss takes the batch's labels (``labels=``): only the supervised reference's objective.
    uses_labels: bool = False

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def loss(self, a: Tensor, b: Tensor, masks_b: Tensor, masks_a: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def forward(self, a: Tensor, b: Tensor, masks_b: Tensor, masks_a: Tensor | None = None, **labels: Tensor) -> Tensor:
        """:meth:`loss`: the call DDP wraps (its backward averages the gradients over the ranks under torchrun)."""
        return self.loss(a, b, masks_b, masks_a, **labels)

    def fixed_lr_parameters(self) -> list[nn.Parameter]:
        """Parameters whose learning rate the schedule leaves constant (SimSiam's predictor, optionally)."""
        return []

    def after_step(self, progress: float) -> None:
        """Called after every optimiser step with the fraction of training done (BYOL's EMA)."""

    def embed(self, head: nn.Module, x: Tensor, chunks: int = 1) -> Tensor:
        """Encoder then ``head``, with batch-norm statistics per chunk of the batch."""
        with chunked(self, chunks):
            return head(self.encoder(x))


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No parameter gradients for ``module`` inside the block; gradients still flow through it."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def cosine(p: Tensor, z: Tensor) -> Tensor:
    """Row-wise cosine similarity in float32."""
    return torch.nn.functional.cosine_similarity(p.float(), z.float(), dim=-1)
