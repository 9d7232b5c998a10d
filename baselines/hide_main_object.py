"""`hide-main-object`: a negative control, not a method. It hides the object that defines the class.

On `shapes` the class is the shape of the main object (instance id 1), so a view that never shows
it leaves the encoder nothing class-related to match: a benchmark that can detect harm must rank
this strategy below `none`. The default ``region="box"`` hides the object's bounding box in the
(cropped) view. ``region="object"`` hides its exact pixels, but a mean-filled silhouette still shows
the outline, and the outline *is* the class here, so that variant is not a clean control (the README
gives both measurements). Datasets that do not say which object defines the class cannot use it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from masks import MaskStrategy, register

REGIONS = ("box", "object")


@register("hide-main-object")
class HideMainObject(MaskStrategy):
    """Negative control: hides the class-defining object (instance id 1), as its bounding box or its pixels (K = 1)."""

    needs_instances = True
    needs_class_object = True
    control = True
    target_area = None

    def __init__(self, region: str = "box") -> None:
        if region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}; got '{region}'")
        self.region = region

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        if instances is None:
            raise ValueError("hide-main-object needs instance maps")
        b, _, h, w = images.shape
        if instances.shape != (b, h, w):
            raise ValueError(f"instance maps {tuple(instances.shape)} do not fit images {tuple(images.shape)}")
        main = instances.to(images.device) == 1  # (B, H, W)
        if self.region == "object":
            return main.float().unsqueeze(1)
        rows, cols = main.any(2), main.any(1)  # (B, H), (B, W)
        return (_span(rows)[:, :, None] & _span(cols)[:, None, :]).float().unsqueeze(1)


def _span(hit: Tensor) -> Tensor:
    """(B, L) bool -> (B, L) bool: True from the first to the last True of each row (all False if none)."""
    forward = hit.cummax(1).values
    backward = hit.flip(1).cummax(1).values.flip(1)
    return forward & backward
