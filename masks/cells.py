"""Masks on a grid of square cells: the shared building block of patch-style strategies."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def grid_size(size: int, cell: int) -> int:
    """Cells along one side (the last cell may run past the border and is cropped)."""
    return math.ceil(size / cell)


def cells_to_pixels(cells: Tensor, cell: int, height: int, width: int) -> Tensor:
    """Expand cell masks (B, K, gh, gw) to pixel masks (B, K, H, W), float."""
    pixels = cells.float().repeat_interleave(cell, dim=-2).repeat_interleave(cell, dim=-1)
    return pixels[..., :height, :width]


def random_cells(batch: int, n_cells: int, n_hidden: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """(B, n_cells) bool with exactly ``n_hidden`` random True per row (argsort of uniform noise)."""
    noise = torch.rand(batch, n_cells, generator=generator, device=device)
    rank = noise.argsort(dim=1).argsort(dim=1)
    return rank < n_hidden


def pixels_to_cells(masks: Tensor, cell: int) -> Tensor:
    """Mean of each cell (B, K, gh, gw), for tests and statistics."""
    return F.avg_pool2d(masks, cell, ceil_mode=True)
