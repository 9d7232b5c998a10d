"""`random-patch`: hide a random set of square cells, an exact count per image.

SimMIM-style random masking (Xie et al., "SimMIM: a Simple Framework for Masked Image Modeling",
CVPR 2022), in pixel space: cells of side ``cell_size`` (default size/8), ``mask_area`` of them hidden.
"""

from __future__ import annotations

import torch
from torch import Tensor

from baselines.options import check_area, check_cell
from masks import MaskStrategy, register
from masks.cells import cells_to_pixels, patch_grid, random_cells


@register("random-patch")
class RandomPatch(MaskStrategy):
    """Random cells, exactly round(mask_area * cells) hidden per image."""

    def __init__(self, mask_area: float = 0.5, cell_size: int | None = None) -> None:
        self.target_area = check_area(mask_area)
        self.cell_size = check_cell(cell_size)

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        b, _, h, w = images.shape
        cell, gh, gw = patch_grid(h, w, self.cell_size)
        hidden = round(self.target_area * gh * gw)
        cells = random_cells(b, gh * gw, hidden, generator, images.device).view(b, 1, gh, gw)
        return cells_to_pixels(cells, cell, h, w)
