"""`mae`: hide a random 75% of the ViT patch grid, an exact count per image.

He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022: uniform random masking of
patches at a high ratio. In pixel space (docs/method.md §1) on the patch grid of a ViT with
patch = size/8: cells of side ``cell_size`` (default size/8, 4 px at 32 px), ``mask_area`` (0.75)
of them hidden, exactly round(mask_area * cells) per image (argsort of uniform noise, as MAE does).
It is `random-patch` with MAE's grid and ratio.
"""

from __future__ import annotations

from baselines.random_patch import RandomPatch
from masks import register


@register("mae")
class MAEMask(RandomPatch):
    """Random patches of the ViT grid, exactly round(mask_area * patches) hidden per image."""

    def __init__(self, mask_area: float = 0.75, cell_size: int | None = None) -> None:
        super().__init__(mask_area, cell_size)
