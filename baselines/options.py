"""Validation of the options the static strategies share."""

from __future__ import annotations


def check_area(mask_area: float) -> float:
    """A target hidden fraction in [0, 1]."""
    if not 0.0 <= mask_area <= 1.0:
        raise ValueError(f"mask_area must be in [0, 1], got {mask_area}")
    return float(mask_area)


def check_cell(cell_size: int | None) -> int | None:
    """An optional cell side in pixels (None: the strategy's default for the image size)."""
    if cell_size is not None and (int(cell_size) != cell_size or cell_size < 1):
        raise ValueError(f"cell_size must be a positive integer, got {cell_size}")
    return None if cell_size is None else int(cell_size)
