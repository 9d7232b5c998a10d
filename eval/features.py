"""Frozen backbone features of unaugmented images (global-pooled, before the projector)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


@torch.no_grad()
def extract_features(
    encoder: nn.Module,
    images: Tensor,
    batch_size: int = 512,
    autocast: bool = False,
    *,
    normalise: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Features (N, D) float32 of ``images`` (N, C, H, W), with the encoder in eval mode.

    With ``normalise`` (e.g. ``ImageDataset.normalise``), ``images`` are uint8 (any tensor, a
    memory-mapped one included) and each batch is moved to the encoder's device, then normalised
    there: no float copy of the whole set is made. Without it, ``images`` are already normalised floats.
    """
    if normalise is None and images.dtype == torch.uint8:
        raise ValueError("uint8 images need normalise= (the dataset's normalise), or normalise them first")
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    out = []
    try:
        for start in range(0, images.shape[0], batch_size):
            x = images[start : start + batch_size].to(device)
            if normalise is not None:
                x = normalise(x)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                out.append(encoder(x).float().cpu())
    finally:
        encoder.train(was_training)
    return torch.cat(out) if out else torch.empty(0, 0)
