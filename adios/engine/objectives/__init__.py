"""The SSL objectives, by CLI name."""

from __future__ import annotations

from adios.engine.encoders import Encoder
from adios.engine.objectives.base import Objective, frozen
from adios.engine.objectives.byol import BYOL
from adios.engine.objectives.simclr import SimCLR
from adios.engine.objectives.simsiam import SimSiam
from adios.errors import unknown_name

OBJECTIVES: dict[str, type[Objective]] = {"simclr": SimCLR, "byol": BYOL, "simsiam": SimSiam}


def build_objective(name: str, encoder: Encoder, **options: float) -> Objective:
    """Build an objective around ``encoder``; ``options`` are its head sizes and loss settings."""
    if name not in OBJECTIVES:
        raise unknown_name("objective", name, OBJECTIVES)
    return OBJECTIVES[name](encoder, **options)


__all__ = ["OBJECTIVES", "Objective", "build_objective", "frozen"]
