"""Applying masks to images: every strategy's masks are used the same way (docs/method.md §1)."""

from __future__ import annotations

from torch import Tensor


def apply_masks(images: Tensor, masks: Tensor) -> Tensor:
    """Hide pixels of normalised images: ``x * (1 - m)``, so a hidden pixel becomes the dataset mean.

    ``images`` (B, C, H, W) and ``masks`` (B, K, H, W) give the K masked views stacked mask-major,
    shape (K*B, C, H, W): rows k*B .. (k+1)*B - 1 are the batch under mask k.
    """
    if masks.shape[0] != images.shape[0] or masks.shape[-2:] != images.shape[-2:]:
        raise ValueError(f"masks {tuple(masks.shape)} do not fit images {tuple(images.shape)}")
    keep = 1 - masks.transpose(0, 1).unsqueeze(2).to(images.dtype)  # (K, B, 1, H, W)
    return (images.unsqueeze(0) * keep).flatten(0, 1)
