"""Reference rows: encoders to probe that no mask strategy produced, so a table says how much was learned at all.

A reference is its own kind of run. It says how its encoder comes about: ``random-init`` does not
train (the untrained encoder, probed the same way); ``supervised`` trains the same encoder through
the one trainer with a cross-entropy objective on the same views, budget and optimiser, no mask.
Plugins add references through the entry-point group ``adios.references``.
"""

from __future__ import annotations

from typing import ClassVar

from adios.data import ImageDataset
from adios.engine.encoders import Encoder
from adios.engine.objectives import Objective
from adios.engine.objectives.supervised import CrossEntropy
from masks.registry import Registry


class Reference:
    """A reference row. ``objective`` builds what the trainer trains (None: nothing is trained)."""

    name: ClassVar[str] = ""
    #: Whether the reference trains (its run key then covers the training settings too).
    trains: ClassVar[bool] = True

    def objective(self, encoder: Encoder, data: ImageDataset) -> Objective | None:
        raise NotImplementedError


#: Reference rows by name. Plugins use the entry-point group ``adios.references``.
REFERENCES: Registry[type[Reference]] = Registry("reference row", "adios.references")


@REFERENCES.register("random-init")
class RandomInit(Reference):
    """the untrained encoder, probed the same way"""

    trains = False

    def objective(self, encoder: Encoder, data: ImageDataset) -> Objective | None:
        return None


@REFERENCES.register("supervised")
class Supervised(Reference):
    """the same encoder trained with labels (cross-entropy on view a), same budget and optimiser"""

    def objective(self, encoder: Encoder, data: ImageDataset) -> Objective | None:
        return CrossEntropy(encoder, len(data.classes))
