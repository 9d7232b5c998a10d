"""The mask contract: what a mask strategy is (docs/adding-a-mask-strategy.md, "1. The contract").

A strategy has a kebab-case ``name``. Called on a batch of normalised images (B, C, H, W) with a
``torch.Generator``, it returns masks (B, K, H, W): float in [0, 1], 1 = hidden, on the images'
device. K >= 1 is the number of masked views per image. All randomness comes from the generator,
and the whole batch is masked at once.

Static strategies subclass :class:`MaskStrategy`. Learned strategies subclass
:class:`LearnedStrategy` (an ``nn.Module``): the trainer runs their adversarial step, and tells the
two kinds apart only by :func:`is_learned`, never by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn


class MaskStrategy:
    """A static mask strategy: no parameters, masks drawn from the generator."""

    name: ClassVar[str] = ""
    #: The masks need the view's instance map (``instances`` in ``__call__``).
    needs_instances: ClassVar[bool] = False
    #: The masks need to know which object defines the class: instance id 1 (datasets with ``class_object``).
    needs_class_object: ClassVar[bool] = False
    #: A control (e.g. one built to do harm), not a method: left out of ``all``, marked in tables.
    control: ClassVar[bool] = False
    #: K, the number of masked views per image.
    num_masks: int = 1
    #: The hidden fraction the strategy aims at (None where it chooses for itself).
    target_area: float | None = None
    #: The constructor arguments it was built with (set by the registry), for records and run keys.
    options: dict[str, Any]

    def fit(self, images: Tensor, cache_dir: Path | None = None) -> None:
        """Learn data statistics before training (e.g. a codebook). ``images``: normalised training images."""

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def binary_masks(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        """Hard masks (B, K, H, W) bool, for pictures and mask metrics."""
        return self(images, generator, instances) > 0.5


class LearnedStrategy(nn.Module):
    """A strategy with parameters, trained adversarially against the encoder.

    ``propose`` computes N soft slots (B, N, H, W) (differentiable, the expensive part); ``draw``
    turns slots into the K masks of the masked views (cheap, may use the generator); ``draw_views``
    does it for the views of one batch at once (when the objective masks both views, a strategy may
    tie their draws); ``penalty`` is the regulariser the adversary adds (weight ``alpha``). The
    adversary minimises ``-objective + alpha * penalty`` with its own optimiser from :meth:`make_optimizer`.
    """

    name: ClassVar[str] = ""
    needs_instances: ClassVar[bool] = False
    needs_class_object: ClassVar[bool] = False
    control: ClassVar[bool] = False
    num_masks: int = 1
    target_area: float | None = None
    alpha: float = 0.0
    options: dict[str, Any]

    def fit(self, images: Tensor, cache_dir: Path | None = None) -> None:
        """Learned strategies learn during training; nothing to fit beforehand."""

    def propose(self, images: Tensor) -> Tensor:
        raise NotImplementedError

    def draw(self, slots: Tensor, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def draw_views(self, slots_b: Tensor, slots_a: Tensor | None, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """The masks of view b and, when the objective masks both views, of view a (``slots_a`` not None).

        Default: the two views are drawn independently, b first, each with :meth:`draw`.
        """
        masks_b = self.draw(slots_b, generator)
        return masks_b, None if slots_a is None else self.draw(slots_a, generator)

    def penalty(self, slots: Tensor) -> Tensor:
        raise NotImplementedError

    def make_optimizer(self, total_steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        raise NotImplementedError

    def forward(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        return self.draw(self.propose(images), generator)

    def binary_masks(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        """Hard masks: the argmax partition of the slots, then the same draw."""
        slots = self.propose(images)
        hard = torch.nn.functional.one_hot(slots.argmax(1), slots.shape[1]).permute(0, 3, 1, 2).to(slots.dtype)
        return self.draw(hard, generator) > 0.5


def is_learned(strategy: object) -> bool:
    """Whether the trainer must run an adversarial step: the strategy has trainable parameters."""
    return isinstance(strategy, nn.Module) and any(p.requires_grad for p in strategy.parameters())
