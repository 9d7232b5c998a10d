"""Masks on a grid of square cells, rectangles, and picking whole groups near a target: the static strategies' parts."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def grid_size(size: int, cell: int) -> int:
    """Cells along one side (the last cell may run past the border and is cropped)."""
    return math.ceil(size / cell)


def patch_grid(height: int, width: int, cell_size: int | None) -> tuple[int, int, int]:
    """The patch grid (cell side, rows, columns) the patch strategies share: ``cell_size``, or height/8 (an 8x8 grid)."""
    cell = cell_size or max(1, height // 8)
    return cell, grid_size(height, cell), grid_size(width, cell)


def cells_to_pixels(cells: Tensor, cell: int, height: int, width: int) -> Tensor:
    """Expand cell masks (B, K, gh, gw) to pixel masks (B, K, H, W), float (one copy: expand, then reshape)."""
    *lead, gh, gw = cells.shape
    pixels = cells.float()[..., :, None, :, None].expand(*lead, gh, cell, gw, cell).reshape(*lead, gh * cell, gw * cell)
    return pixels[..., :height, :width]


def random_cells(batch: int, n_cells: int, n_hidden: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """(B, n_cells) bool with exactly ``n_hidden`` random True per row (argsort of uniform noise)."""
    noise = torch.rand(batch, n_cells, generator=generator, device=device)
    rank = noise.argsort(dim=1).argsort(dim=1)
    return rank < n_hidden


def pixels_to_cells(masks: Tensor, cell: int) -> Tensor:
    """Mean of each cell (B, K, gh, gw), for tests and statistics."""
    return F.avg_pool2d(masks, cell, ceil_mode=True)


def rectangles(top: Tensor, left: Tensor, height: Tensor, width: Tensor, rows: int, cols: int) -> Tensor:
    """Boolean masks (..., rows, cols) of axis-aligned rectangles, one per element of the (...) index tensors."""
    r = torch.arange(rows, device=top.device)
    c = torch.arange(cols, device=top.device)
    in_rows = (r >= top.unsqueeze(-1)) & (r < (top + height).unsqueeze(-1))  # (..., rows)
    in_cols = (c >= left.unsqueeze(-1)) & (c < (left + width).unsqueeze(-1))  # (..., cols)
    return in_rows.unsqueeze(-1) & in_cols.unsqueeze(-2)


def pick_prefix(totals: Tensor, target: float, generator: torch.Generator, min_take: int = 0) -> Tensor:
    """How many items each row takes, (B,) long, from running totals (B, P + 1): ``totals[:, j]`` is the size of the first j items.

    The two prefixes that bracket ``target`` are the candidates, and the longer one is taken with
    probability (target - lower) / (upper - lower): randomised rounding, so the expected size is
    exactly ``target`` wherever it is reachable, and a row is never off by more than one item. At
    least ``min_take`` items are taken; a row whose items all fall short takes them all.
    """
    b, p1 = totals.shape
    j = torch.arange(p1, device=totals.device)
    reach = (totals >= target) & (j >= min_take)
    reachable = reach.any(1)
    upper = torch.where(reachable, reach.float().argmax(1), p1 - 1)  # the first prefix at or over the target
    lower = (upper - 1).clamp_min(0)
    t_up = totals.gather(1, upper[:, None]).squeeze(1).float()
    t_lo = totals.gather(1, lower[:, None]).squeeze(1).float()
    p_up = (target - t_lo) / (t_up - t_lo).clamp_min(1e-12)
    u = torch.rand(b, generator=generator, device=totals.device)
    take_upper = (u < p_up) | (upper <= min_take) | ~reachable
    return torch.where(take_upper, upper, lower)


def choose_groups(sizes: Tensor, target: float, generator: torch.Generator) -> Tensor:
    """Pick whole groups in a random order until their total size is about ``target``.

    ``sizes`` (B, G) holds the size of every group in every row (0: the group is absent). Each row
    takes its present groups in an order drawn from ``generator``, and as many of them as
    :func:`pick_prefix` says: the expected total is ``target`` (where the row's groups reach it),
    a row is never off by more than one group, and it takes at least one group when ``target > 0``.
    Returns (B, G) bool: the chosen groups. Rows with no present group choose none.
    """
    b, g = sizes.shape
    present = sizes > 0
    priority = torch.rand(b, g, generator=generator, device=sizes.device).masked_fill(~present, 2.0)
    order = priority.argsort(dim=1)  # present groups first, in random order
    totals = torch.cat([sizes.new_zeros(b, 1), sizes.gather(1, order).cumsum(1)], dim=1)  # (B, G + 1)
    n_taken = pick_prefix(totals, target, generator, min_take=1 if target > 0 else 0)
    chosen_in_order = torch.arange(1, g + 1, device=sizes.device) <= n_taken[:, None]  # the first n_taken of the order
    return torch.zeros_like(present).scatter(1, order, chosen_in_order) & present


def choose_labelled(labels: Tensor, n_groups: int, target: float, generator: torch.Generator) -> Tensor:
    """:func:`choose_groups` for items that carry their group's label; returns which items are chosen.

    ``labels`` (B, n) holds each item's group in [0, ``n_groups``). The groups' sizes are their item
    counts. This draws the same random numbers as ``choose_groups(sizes, target, generator)`` and
    chooses the same groups (exact ties in priority aside), but it sorts the n items rather than
    all ``n_groups`` groups: cheaper when few of many groups occur in a row, as with visual words.
    Returns (B, n) bool: the items of the chosen groups.
    """
    b, n = labels.shape
    priority = torch.rand(b, n_groups, generator=generator, device=labels.device).gather(1, labels)
    by_label = labels.argsort(dim=1, stable=True)  # then a stable sort by priority: items of one group stay together
    order = by_label.gather(1, priority.gather(1, by_label).argsort(dim=1, stable=True))
    ordered = labels.gather(1, order)
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = starts.long().cumsum(1)  # 1-based rank of each item's group in the order
    ends = torch.arange(1, n + 1, device=labels.device).expand(b, n)  # items up to and including this one
    totals = labels.new_zeros(b, n + 1).scatter_reduce(1, group, ends, "amax").cummax(1).values  # items in the first j groups
    n_taken = pick_prefix(totals, target, generator, min_take=1 if target > 0 else 0)
    return torch.zeros_like(starts).scatter(1, order, group <= n_taken[:, None])
