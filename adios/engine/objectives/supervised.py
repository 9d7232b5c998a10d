"""Cross-entropy on labels: the objective of the ``supervised`` reference row (not an SSL objective of its own)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from adios.engine.encoders import Encoder
from adios.engine.objectives.base import Objective


class CrossEntropy(Objective):
    """A linear classifier on the encoder, trained with cross-entropy on view a; the masks and view b are unused."""

    uses_labels = True

    def __init__(self, encoder: Encoder, n_classes: int) -> None:
        super().__init__(encoder)
        self.head = nn.Linear(encoder.feature_dim, n_classes)

    def loss(self, a: Tensor, b: Tensor, masks_b: Tensor, masks_a: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("the supervised objective needs the batch's labels")
        return F.cross_entropy(self.head(self.encoder(a)).float(), labels)
