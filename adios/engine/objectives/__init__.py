"""The SSL objectives, registered by CLI name in :data:`OBJECTIVES` (importing this package registers the built-ins)."""

from __future__ import annotations

from adios.engine.encoders import Encoder
from adios.engine.objectives import byol, simclr, simsiam  # noqa: F401  (register the built-ins)
from adios.engine.objectives.base import OBJECTIVES, Objective, frozen


def build_objective(name: str, encoder: Encoder, **options: float) -> Objective:
    """Build an objective around ``encoder``; ``options`` are its head sizes and loss settings."""
    return OBJECTIVES.get(name)(encoder, **options)


__all__ = ["OBJECTIVES", "Objective", "build_objective", "frozen"]
