"""Occlusion robustness: the clean linear probe scored on test images covered by held-out occluders.

The occluders are two ellipses per image, of random position, orientation and aspect ratio, drawn
from a fixed seed that training never uses, covering about a quarter of the image. They are filled
with the dataset mean, as a mask hides pixels (docs/method.md §1), so they remove information without
adding a new object; their shapes are not those of any strategy's masks.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

OCCLUDER_SEED = 20_220_131  # fixed and held out: no training stream uses it
OCCLUDED_AREA = 0.25


def occlude(
    images: Tensor, fill: tuple[float, ...], area: float = OCCLUDED_AREA, seed: int = OCCLUDER_SEED
) -> tuple[Tensor, float]:
    """Cover two random ellipses of each uint8 image (N, C, H, W) with ``fill`` (per channel, in [0, 1]).

    Returns the occluded images and the fraction of pixels covered.
    """
    n, c, h, w = images.shape
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32) + 0.5, torch.arange(w, dtype=torch.float32) + 0.5, indexing="ij")
    out = images.float().clone()
    covered = torch.zeros(n, h, w, dtype=torch.bool)
    for _ in range(2):
        cx = (torch.rand(n, generator=g) * 0.7 + 0.15) * w
        cy = (torch.rand(n, generator=g) * 0.7 + 0.15) * h
        angle = torch.rand(n, generator=g) * math.pi
        aspect = torch.exp((torch.rand(n, generator=g) * 2 - 1) * math.log(2.0))
        ellipse_area = area / 2 * (0.8 + 0.4 * torch.rand(n, generator=g)) * h * w
        minor = torch.sqrt(ellipse_area / (math.pi * aspect))
        major = aspect * minor
        dx, dy = xx - cx.view(-1, 1, 1), yy - cy.view(-1, 1, 1)
        u = dx * angle.cos().view(-1, 1, 1) + dy * angle.sin().view(-1, 1, 1)
        v = -dx * angle.sin().view(-1, 1, 1) + dy * angle.cos().view(-1, 1, 1)
        inside = (u / major.view(-1, 1, 1)) ** 2 + (v / minor.view(-1, 1, 1)) ** 2 <= 1
        out = torch.where(inside.unsqueeze(1), torch.tensor(fill).view(1, c, 1, 1) * 255, out)
        covered |= inside
    return out.round().to(torch.uint8), float(covered.float().mean())
