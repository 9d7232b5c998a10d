"""BYOL (Grill et al., NeurIPS 2020): predict an EMA target's embedding; the target sees masked views too."""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor

from adios.engine.encoders import Encoder, chunked
from adios.engine.objectives.base import OBJECTIVES, Objective, cosine, mlp
from masks.apply import apply_masks


def byol_regression(p: Tensor, z: Tensor) -> Tensor:
    """2 - 2 cos(p, stopgrad(z)), averaged over the batch (the last dimension is the embedding)."""
    return (2 - 2 * cosine(p, z.detach())).mean(-1)


@OBJECTIVES.register("byol")
class BYOL(Objective):
    """Online encoder + projector + predictor; target = EMA of encoder + projector. Only view b is masked."""

    def __init__(
        self,
        encoder: Encoder,
        proj_hidden: int = 4096,
        proj_out: int = 256,
        pred_hidden: int = 4096,
        ema_start: float = 0.99,
        fixed_predictor_lr: bool = False,
    ) -> None:
        super().__init__(encoder)
        self.fixed_predictor_lr = fixed_predictor_lr
        self.projector = mlp([encoder.feature_dim, proj_hidden, proj_out])
        self.predictor = mlp([proj_out, pred_hidden, proj_out])
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.ema_start = ema_start
        self.momentum = ema_start

    def fixed_lr_parameters(self) -> list:
        """The predictor keeps a constant learning rate when ``fixed_predictor_lr`` (as SimSiam's, Chen & He 2021)."""
        return list(self.predictor.parameters()) if self.fixed_predictor_lr else []

    def _target(self, x: Tensor, chunks: int) -> Tensor:
        with torch.no_grad(), chunked(self, chunks):
            return self.target_projector(self.target_encoder(x))

    def loss(self, a: Tensor, b: Tensor, masks_b: Tensor, masks_a: Tensor | None = None) -> Tensor:
        k, n = masks_b.shape[1], a.shape[0]
        b_masked = apply_masks(b, masks_b)  # (K*B, C, H, W)
        p_a = self.predictor(self.embed(self.projector, a))  # (B, D)
        with chunked(self, k):
            p_b = self.predictor(self.embed(self.projector, b_masked, chunks=k)).view(k, n, -1)
        t_a = self._target(a, 1)
        t_b = self._target(b_masked, k).view(k, n, -1)
        return (byol_regression(p_a.unsqueeze(0), t_b) + byol_regression(p_b, t_a.unsqueeze(0))).sum()

    @torch.no_grad()
    def after_step(self, progress: float) -> None:
        """EMA update of the target; the momentum goes from ``ema_start`` to 1 on a cosine schedule."""
        tau = self.momentum
        for online, target in ((self.encoder, self.target_encoder), (self.projector, self.target_projector)):
            for p, q in zip(online.parameters(), target.parameters(), strict=True):
                q.lerp_(p, 1 - tau)
        self.momentum = 1 - (1 - self.ema_start) * (math.cos(math.pi * progress) + 1) / 2
