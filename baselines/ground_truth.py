"""`ground-truth`: hide one whole object, or the background, chosen at random (the oracle row).

The ground-truth-mask ablation of ADIOS (Shi et al., "Adversarial Masking for Self-Supervised
Learning", ICML 2022): masks that follow real object boundaries, i.e. what masking a perfect
"visual word" would give. Needs the view's instance map (0 = background, 1..k = objects); the id to
hide is uniform among the ids present in each image, so the hidden area is the data's, not a target.
"""

from __future__ import annotations

import torch
from torch import Tensor

from masks import MaskStrategy, register


@register("ground-truth")
class GroundTruthMask(MaskStrategy):
    """Hides exactly the pixels of one instance id present in the image (K = 1)."""

    needs_instances = True
    target_area = None

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        if instances is None:
            raise ValueError("ground-truth needs instance maps")
        b, _, h, w = images.shape
        if instances.shape != (b, h, w):
            raise ValueError(f"instance maps {tuple(instances.shape)} do not fit images {tuple(images.shape)}")
        ids = instances.to(images.device).long()
        flat = ids.flatten(1)
        present = torch.zeros(b, int(flat.max()) + 1, dtype=torch.bool, device=ids.device).scatter_(1, flat, True)
        priority = torch.rand(present.shape, generator=generator, device=ids.device).masked_fill(~present, -1.0)
        chosen = priority.argmax(1)  # uniform among the present ids
        return (ids == chosen[:, None, None]).float().unsqueeze(1)
