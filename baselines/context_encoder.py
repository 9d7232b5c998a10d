"""`context-encoder`: the three region-removal schemes of Context Encoders.

Pathak et al., "Context Encoders: Feature Learning by Inpainting", CVPR 2016, §3.3:

* ``center``: one central square covering ``mask_area`` (1/4) of the image.
* ``random-block`` (the default, the scheme between the two others): several random, possibly
  overlapping rectangles, about ``mask_area`` of the image in all (the mean area is on target).
* ``random-region``: an arbitrary shape covering about ``mask_area``. With instance maps, the
  silhouette of objects of *another* image of the batch (image i takes image i-1's), rescaled about
  its centroid to the target area (and moved inwards if it would cross the border), as the paper
  pastes deformed PASCAL segmentation masks; without them (or where the other image has no
  object), a smooth random blob.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from baselines.options import check_area
from masks import MaskStrategy, register
from masks.cells import cells_to_pixels, choose_groups, grid_size, pick_prefix

MODES = ("center", "random-block", "random-region")
BLOCKS_PER_AREA = 64  # random-block: rectangles drawn per image per unit of target area (16 for 1/4)
MAX_BLOCKS = 250  # (their indices are stored as uint8)
BLOCK_SIDE = (1 / 8, 1 / 3)  # rectangle sides, as fractions of the image side
BLOCK_GRID = 32  # random-block rectangles snap to a grid of at most this many cells a side
BLOB_GRID = 4  # random-region blobs: noise on a BLOB_GRID x BLOB_GRID grid, upsampled bicubically


@register("context-encoder")
class ContextEncoderMask(MaskStrategy):
    """Central square, random blocks or random regions, about ``mask_area`` of each image (K = 1)."""

    def __init__(self, mask_area: float = 0.25, mode: str = "random-block") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got '{mode}'")
        self.target_area = check_area(mask_area)
        self.mode = mode

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        b, _, h, w = images.shape
        with torch.autocast(images.device.type, enabled=False):  # float32 geometry, even in a bf16 step
            if self.mode == "center":
                hidden = center_square(b, h, w, self.target_area, images.device)
            elif self.mode == "random-block":
                hidden = random_blocks(b, h, w, self.target_area, generator, images.device)
            else:
                hidden = random_regions(b, h, w, self.target_area, generator, images.device, instances)
        return hidden.float().unsqueeze(1)


def center_square(b: int, h: int, w: int, area: float, device: torch.device) -> Tensor:
    """(B, H, W) bool: the central square of side round(sqrt(area * H * W))."""
    side = min(h, w, round(math.sqrt(area * h * w)))
    top, left = (h - side) // 2, (w - side) // 2
    hidden = torch.zeros(b, h, w, dtype=torch.bool, device=device)
    hidden[:, top : top + side, left : left + side] = True
    return hidden


def random_blocks(b: int, h: int, w: int, area: float, generator: torch.Generator, device: torch.device) -> Tensor:
    """(B, H, W) bool: the union of the first few of a random sequence of rectangles, about ``area`` of the image.

    Each image draws ``ceil(BLOCKS_PER_AREA * area)`` rectangles (sides uniform in BLOCK_SIDE of the
    image side, positions uniform) on a grid of at most BLOCK_GRID cells a side (1 px cells at 32 px,
    3 px at 96 px), and keeps the shortest prefix of the sequence whose union reaches ``area``, or the
    one before it (:func:`masks.cells.pick_prefix`: randomised rounding, so the mean area is on
    target). Every image at once: the index of the first rectangle covering each cell gives the
    union of every prefix.
    """
    unit = max(1, math.ceil(max(h, w) / BLOCK_GRID))
    gh, gw = grid_size(h, unit), grid_size(w, unit)
    n = min(MAX_BLOCKS, max(1, math.ceil(BLOCKS_PER_AREA * area)))
    u = torch.rand(4, b, n, generator=generator, device=device)
    first = []  # per axis: (B, n, cells) index of the rectangle if the cell is in its span, else n
    for axis, (size, pos) in enumerate(((gh, u[2]), (gw, u[3]))):
        lo = max(1, round(BLOCK_SIDE[0] * size))
        hi = max(lo, round(BLOCK_SIDE[1] * size))
        side = lo + (u[axis] * (hi - lo + 1)).long()
        start = (pos * (size - side + 1)).long()
        cells = torch.arange(size, device=device)
        inside = (cells >= start.unsqueeze(-1)) & (cells < (start + side).unsqueeze(-1))
        index = torch.arange(n, device=device, dtype=torch.uint8).view(1, n, 1)
        first.append(torch.where(inside, index, n).to(torch.uint8))
    cover = torch.maximum(first[0].unsqueeze(-1), first[1].unsqueeze(-2)).amin(1)  # (B, gh, gw): first rectangle on the cell
    newly = torch.zeros(b, n + 1, device=device).scatter_add_(1, cover.flatten(1).long(), torch.ones(b, gh * gw, device=device))
    totals = torch.cat([newly.new_zeros(b, 1), newly[:, :n].cumsum(1)], dim=1)  # (B, n + 1): union of the first j
    taken = pick_prefix(totals, area * gh * gw, generator, min_take=1 if area > 0 else 0)
    hidden = cover < taken[:, None, None]
    return cells_to_pixels(hidden.unsqueeze(1), unit, h, w).squeeze(1) > 0.5


def smooth_blobs(b: int, h: int, w: int, area: float, generator: torch.Generator, device: torch.device) -> Tensor:
    """(B, H, W) bool: upsampled smooth noise, thresholded per image so exactly round(area * H * W) pixels are hidden."""
    noise = torch.rand(b, 1, BLOB_GRID, BLOB_GRID, generator=generator, device=device)
    field = F.interpolate(noise, size=(h, w), mode="bicubic", align_corners=False).flatten(1)  # (B, H*W)
    n_hidden = round(area * h * w)
    if n_hidden == 0:
        return torch.zeros(b, h, w, dtype=torch.bool, device=device)
    if n_hidden == h * w:
        return torch.ones(b, h, w, dtype=torch.bool, device=device)
    threshold = field.kthvalue(h * w - n_hidden, dim=1, keepdim=True).values
    return (field > threshold).view(b, h, w)


def donor_silhouettes(instances: Tensor, area: float, generator: torch.Generator) -> Tensor:
    """(B, H, W) bool: for image i, objects of image i-1 (whole instances, background never), unscaled.

    The objects are taken in a random order until their total area is about ``area``
    (:func:`masks.cells.choose_groups`). An image whose donor has no object gets an empty silhouette.
    """
    donor = instances.roll(1, dims=0)
    b, h, w = donor.shape
    flat = donor.flatten(1)
    n_ids = int(flat.max()) + 1
    sizes = torch.zeros(b, n_ids, device=donor.device).scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float))
    sizes[:, 0] = 0  # the background is not a silhouette
    chosen = choose_groups(sizes, area * h * w, generator)
    return chosen.gather(1, flat).view(b, h, w)


def _fit_inside(centre: Tensor, low: Tensor, high: Tensor, scale: Tensor) -> Tensor:
    """Where to put a centre, in [-1, 1] coordinates, so that the scaled extent [low, high] stays inside the image."""
    lowest = -1 - scale * (low - centre)  # the smallest centre keeping the scaled low edge at -1 or above
    highest = 1 - scale * (high - centre)
    return torch.where(lowest <= highest, centre.clamp(lowest, highest), (lowest + highest) / 2)


def rescale_shapes(shapes: Tensor, area: float) -> Tensor:
    """(B, H, W) bool: each non-empty shape scaled about its centroid to cover about ``area`` of the image.

    A shape whose scaled bounding box would cross the border is moved inwards (as far as it fits),
    so the area is not lost to cropping. A shape already of the target area stays where it is.
    """
    b, h, w = shapes.shape
    x = shapes.float()
    pixels = x.sum((1, 2)).clamp_min(1)
    scale = torch.sqrt(area * h * w / pixels)
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale  # the output pixel p samples c + (p - c') / scale
    for axis, n in ((1, w), (0, h)):  # x (columns) is the first coordinate of a sampling grid
        profile = x.sum(2 - axis)  # (B, n): shape pixels per row (axis 0) or column (axis 1)
        centres = (2 * torch.arange(n, device=x.device) + 1) / n - 1  # pixel centres in [-1, 1] (align_corners=False)
        centroid = (profile * centres).sum(1) / pixels
        occupied = profile > 0
        first = occupied.float().argmax(1)
        last = n - 1 - occupied.flip(1).float().argmax(1)
        moved = _fit_inside(centroid, 2 * first / n - 1, 2 * (last + 1) / n - 1, scale)
        theta[:, 1 - axis, 2] = centroid - moved / scale
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
    return F.grid_sample(x.unsqueeze(1), grid, mode="bilinear", align_corners=False).squeeze(1) > 0.5


def random_regions(
    b: int, h: int, w: int, area: float, generator: torch.Generator, device: torch.device, instances: Tensor | None
) -> Tensor:
    """(B, H, W) bool: another image's object silhouettes scaled to ``area``, or smooth blobs where there are none."""
    if instances is None or area == 0:
        return smooth_blobs(b, h, w, area, generator, device)
    shapes = donor_silhouettes(instances.to(device).long(), area, generator)
    has_shape = shapes.flatten(1).any(1)
    regions = rescale_shapes(shapes, area)
    if bool(has_shape.all()):
        return regions
    return torch.where(has_shape[:, None, None], regions, smooth_blobs(b, h, w, area, generator, device))
