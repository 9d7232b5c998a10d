"""Agreement of hard masks with the objects of datasets that have instance maps (docs/method.md §8).

As the ADIOS code evaluates its masks (Shi et al., ICML 2022): the adjusted Rand index of the argmax
partition against the instance map, over all pixels and over foreground pixels only, and the
best-match IoU of every object with a segment of the partition.

Conventions: a *partition* (B, H, W) holds integer segment ids; an *instance map* (B, H, W) holds
0 for the background and ids >= 1 for the objects.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score
from torch import Tensor


def partition_from_masks(hard: Tensor) -> Tensor:
    """Hard masks (B, K, H, W) -> a partition (B, H, W) of segment ids (long).

    K > 1 (slots, e.g. ADIOS's argmax masks): a pixel's id is 1 + the first slot that holds it, 0 where
    none does (for an argmax partition every pixel is in exactly one slot). K = 1 (static masks): two
    segments, 1 = hidden, 0 = visible.
    """
    if hard.dim() != 4:
        raise ValueError(f"hard masks must be (B, K, H, W); got shape {tuple(hard.shape)}")
    held = hard > 0.5 if hard.dtype.is_floating_point else hard.bool()
    if held.shape[1] == 1:
        return held[:, 0].long()
    first = held.to(torch.uint8).argmax(dim=1)  # the first maximum: the first slot holding the pixel
    return torch.where(held.any(dim=1), first + 1, torch.zeros_like(first)).long()


def _as_numpy(x: Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)


def _check(partition: np.ndarray, instances: np.ndarray) -> None:
    if partition.shape != instances.shape or partition.ndim != 3:
        raise ValueError(
            f"partition and instances must both be (B, H, W); got {tuple(partition.shape)} and {tuple(instances.shape)}"
        )


def adjusted_rand_index(partition: Tensor | np.ndarray, instances: Tensor | np.ndarray, foreground_only: bool = False) -> float:
    """Mean over images of the ARI between ``partition`` (B, H, W) and ``instances`` (B, H, W).

    With ``foreground_only`` only the pixels of objects (instance id >= 1) count; images without an
    object are then left out (NaN if no image has one).
    """
    part, inst = _as_numpy(partition), _as_numpy(instances)
    _check(part, inst)
    scores = []
    for p, t in zip(part.reshape(len(part), -1), inst.reshape(len(inst), -1), strict=True):
        if foreground_only:
            keep = t >= 1
            if not keep.any():
                continue
            p, t = p[keep], t[keep]
        scores.append(adjusted_rand_score(t, p))
    return float(np.mean(scores)) if scores else math.nan


def best_match_ious(partition: Tensor | np.ndarray, instances: Tensor | np.ndarray) -> np.ndarray:
    """For every object (instance id >= 1) of every image, its best IoU with a segment of the partition.

    ``partition``, ``instances`` (B, H, W) -> a 1-d array, one entry per object, images in order.
    """
    part, inst = _as_numpy(partition).astype(np.int64), _as_numpy(instances).astype(np.int64)
    _check(part, inst)
    best = []
    for p, t in zip(part.reshape(len(part), -1), inst.reshape(len(inst), -1), strict=True):
        _, p = np.unique(p, return_inverse=True)  # segment ids 0 .. S-1
        objects, t = np.unique(t, return_inverse=True)
        s, o = int(p.max()) + 1, len(objects)
        joint = np.bincount(t * s + p, minlength=o * s).reshape(o, s)  # pixels of object j in segment k
        union = joint.sum(1, keepdims=True) + joint.sum(0, keepdims=True) - joint
        iou = joint / union
        best.extend(iou[objects >= 1].max(axis=1).tolist())
    return np.asarray(best, dtype=float)


def best_match_iou(partition: Tensor | np.ndarray, instances: Tensor | np.ndarray) -> float:
    """Mean over objects of the best IoU of each object with a segment (NaN if there is no object)."""
    ious = best_match_ious(partition, instances)
    return float(ious.mean()) if ious.size else math.nan


def mask_agreement(partition: Tensor, instances: Tensor) -> dict[str, float]:
    """Agreement of a partition (B, H, W) with instance maps (B, H, W): ARI, foreground ARI, best-match IoU."""
    return {
        "ari": adjusted_rand_index(partition, instances),
        "ari_fg": adjusted_rand_index(partition, instances, foreground_only=True),
        "best_iou": best_match_iou(partition, instances),
    }
