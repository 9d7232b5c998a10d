"""Frozen backbone features of unaugmented images (global-pooled, before the projector)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def extract_features(encoder: nn.Module, images: Tensor, batch_size: int = 512, autocast: bool = False) -> Tensor:
    """Features (N, D) float32 of normalised ``images`` (N, C, H, W), with the encoder in eval mode."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    out = []
    try:
        for start in range(0, images.shape[0], batch_size):
            x = images[start : start + batch_size].to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                out.append(encoder(x).float().cpu())
    finally:
        encoder.train(was_training)
    return torch.cat(out)
