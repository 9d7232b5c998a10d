"""Collapse of frozen features: the spread of the L2-normalised features, as the SimSiam paper monitors it.

Chen & He (CVPR 2021, §4.1) watch the per-dimension std of the L2-normalised output: about
1/sqrt(D) for features that fill the sphere, 0 when every image maps to the same point. Scaled by
sqrt(D), the healthy level is about 1 and a collapsed encoder is near 0, whatever the width.
"""

from __future__ import annotations

import math

import numpy as np

#: Below this spread (sqrt(D) x mean per-dimension std of the normalised features) the features count as collapsed.
COLLAPSE_THRESHOLD = 0.05


def feature_spread(features: np.ndarray) -> float:
    """sqrt(D) times the mean over dimensions of the std of the L2-normalised features (N, D): ~1 healthy, 0 collapsed."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be (N >= 2, D); got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return float(unit.std(axis=0).mean() * math.sqrt(x.shape[1]))


def is_collapsed(spread: float) -> bool:
    """Whether a :func:`feature_spread` value means collapsed features."""
    return not math.isfinite(spread) or spread < COLLAPSE_THRESHOLD
