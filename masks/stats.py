"""Mask statistics: how much a strategy hides, and in how many pieces."""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor


def hidden_fractions(masks: Tensor) -> Tensor:
    """Hidden fraction of each mask (B, K), from soft masks (B, K, H, W)."""
    return masks.float().mean((-2, -1))


def count_components(binary: Tensor) -> Tensor:
    """Connected components (4-connectivity) of each hard mask (B, K, H, W) bool, as (B, K)."""
    flat = binary.detach().cpu().numpy().reshape(-1, *binary.shape[-2:])
    counts = np.array([ndimage.label(m)[1] for m in flat], dtype=np.int64)
    return torch.from_numpy(counts.reshape(binary.shape[:-2]))


def mask_statistics(soft: Tensor, binary: Tensor) -> dict[str, float]:
    """Summary of a batch of masks: mean and std of the hidden fraction, components, empty and full masks.

    ``soft`` (B, K, H, W) are the masks as used in training; ``binary`` the same masks made hard
    (thresholded, or the argmax partition for learned slots), for components and empty/full counts.
    """
    area = hidden_fractions(soft)
    hard_area = hidden_fractions(binary)
    return {
        "mask_area": float(area.mean()),
        "mask_area_std": float(area.std()) if area.numel() > 1 else 0.0,
        "mask_components": float(count_components(binary).float().mean()),
        "mask_empty": float((hard_area == 0).float().mean()),
        "mask_full": float((hard_area == 1).float().mean()),
    }
