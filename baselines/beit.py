"""`beit`: blockwise masking of the patch grid.

Bao et al., "BEiT: BERT Pre-Training of Image Transformers", ICLR 2022, Algorithm 1: repeatedly
place a rectangle of random area (at least ``min_patches`` = 4 patches, at most the remaining
budget) and log-uniform aspect ratio in [0.3, 1/0.3], up to 10 tries per block, until
``mask_area`` (40%) of the patches are hidden. A try is accepted when it hides at least one new
patch and no more than the remaining budget, so the count never overshoots; an image whose 10
tries all fail stops where it is (as in BEiT's generator). Unlike BEiT, a try whose rectangle,
once rounded to whole patches, has fewer than ``min_patches`` patches or leaves the aspect range
is rejected too, so every placed rectangle obeys both bounds. Patch grid: cells of side
``cell_size`` (default size/8, an 8x8 grid at any size). All images place their blocks at once.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from baselines.options import check_area, check_cell
from masks import MaskStrategy, register
from masks.cells import cells_to_pixels, patch_grid, rectangles

TRIES = 10  # tries per block (BEiT's `_mask` loop)


def propose_blocks(
    budget: Tensor, rows: int, cols: int, generator: torch.Generator, min_patches: int = 4, min_aspect: float = 0.3
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """TRIES candidate rectangles per image: (top, left, height, width, valid), each (B, TRIES).

    Area uniform in [min_patches, max(budget, min_patches)] (``budget`` (B,): patches left to hide),
    aspect ratio height/width log-uniform in [min_aspect, 1/min_aspect], sides rounded to whole
    patches, position uniform among those that fit. ``valid``: the rounded rectangle fits the grid,
    has at least ``min_patches`` patches and its aspect ratio is in range.
    """
    u = torch.rand(4, budget.shape[0], TRIES, generator=generator, device=budget.device)
    high = budget.clamp_min(min_patches).float().unsqueeze(1)
    area = min_patches + u[0] * (high - min_patches)
    log_lo, log_hi = math.log(min_aspect), -math.log(min_aspect)
    aspect = torch.exp(log_lo + u[1] * (log_hi - log_lo))
    height = torch.sqrt(area * aspect).round().long()
    width = torch.sqrt(area / aspect).round().long()
    ratio = height / width.clamp_min(1)
    valid = (
        (height >= 1)
        & (width >= 1)
        & (height <= rows)
        & (width <= cols)
        & (height * width >= min_patches)
        & (ratio >= min_aspect - 1e-6)
        & (ratio <= 1 / min_aspect + 1e-6)
    )
    top = (u[2] * (rows - height + 1).clamp_min(1)).long()
    left = (u[3] * (cols - width + 1).clamp_min(1)).long()
    return top, left, height, width, valid


def block_masks(
    batch: int, rows: int, cols: int, n_hidden: int, generator: torch.Generator, device: torch.device, min_patches: int = 4
) -> Tensor:
    """(B, rows, cols) bool: BEiT's blockwise masks, at most ``n_hidden`` patches each, every image at once.

    Each round, every unfinished image tries TRIES blocks at once and places the first that hides at
    least one new patch and no more than its remaining budget; the new patches of every try come
    from an integral image of the mask, so a round costs a few small tensor operations.
    """
    hidden = torch.zeros(batch, rows, cols, dtype=torch.bool, device=device)
    count = torch.zeros(batch, dtype=torch.long, device=device)
    active = count < n_hidden
    batch_index = torch.arange(batch, device=device)
    while bool(active.any()):  # every round hides at least one more patch in each active image
        budget = n_hidden - count
        top, left, height, width, valid = propose_blocks(budget, rows, cols, generator, min_patches)
        bottom, right = (top + height).clamp_max(rows), (left + width).clamp_max(cols)
        integral = F.pad(hidden.long().cumsum(1).cumsum(2), (1, 0, 1, 0)).flatten(1)  # (B, (rows+1) * (cols+1))

        def corner(y: Tensor, x: Tensor, integral: Tensor = integral) -> Tensor:
            return integral.gather(1, y * (cols + 1) + x)

        covered = corner(bottom, right) - corner(top, right) - corner(bottom, left) + corner(top, left)
        new = height * width - covered  # (B, TRIES) patches each try would add
        ok = valid & (new > 0) & (new <= budget.unsqueeze(1)) & active.unsqueeze(1)
        placed = ok.any(1)
        first = ok.float().argmax(1)  # the first successful try, as BEiT stops at it
        pick = (batch_index, first)
        block = rectangles(top[pick], left[pick], height[pick], width[pick], rows, cols)
        hidden |= block & placed[:, None, None]
        count = count + torch.where(placed, new[pick], 0)
        active = placed & (count < n_hidden)
    return hidden


@register("beit")
class BEiTMask(MaskStrategy):
    """Blockwise masking: rectangles of >= ``min_patches`` patches until ``mask_area`` of the patch grid is hidden."""

    def __init__(self, mask_area: float = 0.4, cell_size: int | None = None, min_patches: int = 4) -> None:
        if int(min_patches) != min_patches or min_patches < 1:
            raise ValueError(f"min_patches must be a positive integer, got {min_patches}")
        self.target_area = check_area(mask_area)
        self.cell_size = check_cell(cell_size)
        self.min_patches = int(min_patches)

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        b, _, h, w = images.shape
        cell, gh, gw = patch_grid(h, w, self.cell_size)
        n_hidden = round(self.target_area * gh * gw)
        cells = block_masks(b, gh, gw, n_hidden, generator, images.device, self.min_patches)
        return cells_to_pixels(cells.unsqueeze(1), cell, h, w)
