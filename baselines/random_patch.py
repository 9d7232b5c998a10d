"""`random-patch`: hide a random set of square cells, an exact count per image.

SimMIM-style random masking (Xie et al., "SimMIM: a Simple Framework for Masked Image Modeling",
CVPR 2022), in pixel space: cells of side ``cell_size`` (default size/8), ``mask_area`` of them hidden.
"""

from __future__ import annotations

import torch
from torch import Tensor

from masks import MaskStrategy, register
from masks.cells import cells_to_pixels, grid_size, random_cells


def check_area(mask_area: float) -> float:
    """Validate a target hidden fraction."""
    if not 0.0 <= mask_area <= 1.0:
        raise ValueError(f"mask_area must be in [0, 1], got {mask_area}")
    return float(mask_area)


@register("random-patch")
class RandomPatch(MaskStrategy):
    """Random cells, exactly round(mask_area * cells) hidden per image."""

    def __init__(self, mask_area: float = 0.5, cell_size: int | None = None) -> None:
        self.target_area = check_area(mask_area)
        self.cell_size = cell_size

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        b, _, h, w = images.shape
        cell = self.cell_size or max(1, h // 8)
        gh, gw = grid_size(h, cell), grid_size(w, cell)
        hidden = round(self.target_area * gh * gw)
        cells = random_cells(b, gh * gw, hidden, generator, images.device).view(b, 1, gh, gw)
        return cells_to_pixels(cells, cell, h, w)
