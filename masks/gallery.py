"""Mask galleries: one column per image, one row per strategy, each mask tinted over its image.

Drawn with matplotlib's Agg canvas (no display, no pyplot state) and written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from torch import Tensor

from masks.atomic import atomic_write

TILE_INCHES = 1.0  # side of one image in the figure
LABEL_INCHES = 1.4  # left margin for the row labels
TITLE_INCHES = 0.35  # top margin for the title, when there is one
PAD_INCHES = 0.08  # gap between tiles, and around the grid
DPI = 128  # a 32 px image is drawn 4x (nearest neighbour)
HIDDEN_COLOUR = "#7f7f7f"  # K = 1: hidden pixels fade to grey, about what the encoder sees (the mean)
SLOT_COLOURMAP = "tab10"  # K > 1: the argmax slot of every pixel gets its own colour
ALPHA = 0.75  # tint opacity for a fully hidden pixel


def overlay(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Tint images (N, H, W, 3) in [0, 1] by masks (N, K, H, W): hidden pixels (K = 1) or argmax slots (K > 1)."""
    from matplotlib import colormaps

    masks = np.clip(masks, 0.0, 1.0)
    if masks.shape[1] == 1:
        colour = np.broadcast_to(np.array(to_rgb(HIDDEN_COLOUR)), images.shape)
        strength = masks[:, 0, ..., None]
    else:
        palette = np.array(colormaps[SLOT_COLOURMAP].colors)[:, :3]
        colour = palette[masks.argmax(1) % len(palette)]
        strength = masks.max(1)[..., None]
    return np.clip(images * (1 - ALPHA * strength) + ALPHA * strength * colour, 0.0, 1.0)


def _as_rgb(images: Tensor) -> np.ndarray:
    x = images.detach().float().cpu().clamp(0, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.permute(0, 2, 3, 1).numpy()


def render_gallery(images: Tensor, rows: dict[str, Tensor], path: Path | str, title: str | None = None) -> Path:
    """Save a gallery PNG at ``path`` and return it.

    ``images`` (N, C, H, W) in [0, 1] (C = 3 or 1); ``rows`` maps a row label (a strategy name) to
    its masks (N, K, H, W), soft or hard, 1 = hidden. The first row shows the plain images.
    """
    path = Path(path)
    pictures = _as_rgb(images)
    n = pictures.shape[0]
    tiles = [("images", pictures)]
    for name, masks in rows.items():
        if masks.shape[0] != n or masks.shape[-2:] != images.shape[-2:]:
            raise ValueError(f"masks of '{name}' {tuple(masks.shape)} do not fit images {tuple(images.shape)}")
        tiles.append((name, overlay(pictures, masks.detach().float().cpu().numpy())))

    top = TITLE_INCHES if title else 0.0
    width = LABEL_INCHES + n * TILE_INCHES + (n + 1) * PAD_INCHES
    height = top + len(tiles) * TILE_INCHES + (len(tiles) + 1) * PAD_INCHES
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    for r, (name, row) in enumerate(tiles):
        y = height - top - (r + 1) * (TILE_INCHES + PAD_INCHES)
        for c in range(n):
            x = LABEL_INCHES + PAD_INCHES + c * (TILE_INCHES + PAD_INCHES)
            ax = fig.add_axes((x / width, y / height, TILE_INCHES / width, TILE_INCHES / height))
            ax.imshow(row[c], interpolation="nearest", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.text(
            (LABEL_INCHES - PAD_INCHES) / width,
            (y + TILE_INCHES / 2) / height,
            name,
            ha="right",
            va="center",
            fontsize=9,
            wrap=True,
        )
    if title:
        fig.text(0.5, 1 - (top / 2) / height, title, ha="center", va="center", fontsize=10)

    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=DPI))
    return path


__all__ = ["overlay", "render_gallery"]
