"""SimCLR (Chen et al., ICML 2020): NT-Xent between a clean view and each masked view."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from adios.engine.distributed import gather_rows, rank
from adios.engine.encoders import Encoder
from adios.engine.objectives.base import OBJECTIVES, Objective, mlp
from masks.apply import apply_masks


def nt_xent(z_a: Tensor, z_b: Tensor, temperature: float) -> Tensor:
    """NT-Xent over the 2B stacked embeddings of each pair (z_a, z_b[k]), summed over k.

    ``z_a``: (B, D); ``z_b``: (K, B, D). The positive of row i is its counterpart in the other view;
    the 2B - 2 other rows are the negatives. Returns the sum over k of the mean over the 2B rows.

    Under torchrun, ``z_a`` and ``z_b`` hold this rank's b rows of the global batch of B: its 2b
    rows are the queries, and the keys are the rows of every rank, gathered with gradients. The mean
    over the ranks (DDP averages the gradients) is then exactly the NT-Xent of the global batch.
    """
    k, b, _ = z_b.shape
    z = torch.cat([z_a.unsqueeze(0).expand(k, -1, -1), z_b], dim=1)
    z = F.normalize(z.float(), dim=-1)  # (K, 2b, D): this rank's queries
    keys = gather_rows(z, dim=1)  # (K, ranks * 2b, D), rank after rank; z itself in one process
    logits = z @ keys.transpose(1, 2) / temperature  # (K, 2b, ranks * 2b)
    rows = torch.arange(2 * b, device=z.device)
    offset = rank() * 2 * b  # where this rank's rows are among the keys
    self_pairs = torch.zeros(2 * b, keys.shape[1], dtype=torch.bool, device=z.device)
    self_pairs[rows, offset + rows] = True
    logits = logits.masked_fill(self_pairs, float("-inf"))
    positives = offset + (rows + b) % (2 * b)
    losses = F.cross_entropy(logits.flatten(0, 1), positives.repeat(k), reduction="none")
    return losses.view(k, 2 * b).mean(1).sum()


@OBJECTIVES.register("simclr")
class SimCLR(Objective):
    """Projector Linear-ReLU-Linear (as in the ADIOS code); only view b is masked."""

    def __init__(self, encoder: Encoder, proj_hidden: int = 2048, proj_out: int = 128, temperature: float = 0.2) -> None:
        super().__init__(encoder)
        self.projector = mlp([encoder.feature_dim, proj_hidden, proj_out], batch_norm=False)
        self.temperature = temperature

    def loss(self, a: Tensor, b: Tensor, masks_b: Tensor, masks_a: Tensor | None = None) -> Tensor:
        k = masks_b.shape[1]
        z_a = self.embed(self.projector, a)  # (B, D)
        z_b = self.embed(self.projector, apply_masks(b, masks_b), chunks=k)  # (K*B, D)
        return nt_xent(z_a, z_b.view(k, a.shape[0], -1), self.temperature)
