"""`none`: no mask. Plain SSL, the reference row of every comparison."""

from __future__ import annotations

import torch
from torch import Tensor

from masks import MaskStrategy, register


@register("none")
class NoMask(MaskStrategy):
    """Hides nothing: masks of zeros, K = 1."""

    target_area = 0.0

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        b, _, h, w = images.shape
        return torch.zeros(b, 1, h, w, device=images.device)
