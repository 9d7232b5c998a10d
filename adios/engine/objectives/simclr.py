"""SimCLR (Chen et al., ICML 2020): NT-Xent between a clean view and each masked view."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from adios.engine.encoders import Encoder
from adios.engine.objectives.base import OBJECTIVES, Objective, mlp
from masks.apply import apply_masks


def nt_xent(z_a: Tensor, z_b: Tensor, temperature: float) -> Tensor:
    """NT-Xent over the 2B stacked embeddings of each pair (z_a, z_b[k]), summed over k.

    ``z_a``: (B, D); ``z_b``: (K, B, D). The positive of row i is its counterpart in the other view;
    the 2B - 2 other rows are the negatives. Returns the sum over k of the mean over the 2B rows.
    """
    k, b, _ = z_b.shape
    z = torch.cat([z_a.unsqueeze(0).expand(k, -1, -1), z_b], dim=1)
    z = F.normalize(z.float(), dim=-1)
    logits = z @ z.transpose(1, 2) / temperature  # (K, 2B, 2B)
    self_pairs = torch.eye(2 * b, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))
    positives = (torch.arange(2 * b, device=z.device) + b) % (2 * b)
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
