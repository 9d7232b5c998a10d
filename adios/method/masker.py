"""ADIOS and ADIOS-s: adversarially learned masks (Shi, Siddharth, Torr, Kosiorek, ICML 2022; docs/method.md §2, §3, §5).

The occlusion model (:class:`adios.method.occlusion.OcclusionModel`) proposes N soft slots per image that
sum to 1 at every pixel. The trainer (:func:`adios.engine.trainer.train_step`) runs one forward of it per
batch, takes the encoder step with the masks detached, then the mask step: it minimises
``-objective + alpha * penalty`` over the occlusion model through the frozen encoder and heads.

* ``adios``: all N slots are masks, K = N masked views, the objective is summed over them.
* ``adios-s``: one slot per sample, drawn uniformly from the generator, K = 1 masked view; the
  penalty still covers all N slots. When the objective masks both views (SimSiam), both views
  take the slot of the same index, as the published ``simsiam_adios_s.py`` does.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

import masks
from adios.engine.optim import OPTIMIZERS, make_optimizer
from adios.method.occlusion import NORMS, OcclusionModel, resolve_blocks

MASK_WARMUP = 0.05  # fraction of the steps with a linear learning-rate warmup, then cosine decay
EPSILON = 1e-10


def sparsity_penalty(slots: Tensor) -> Tensor:
    """P = sum_n mean_i 1 / (sin(pi * s_in) + 1e-10), s_in = mean over pixels of slot n of sample i.

    ``slots`` (B, N, H, W) -> a scalar, computed in float32 (float64 stays float64; docs/method.md §3). Smallest
    when every slot covers half the image, unbounded as a slot empties or fills it.
    """
    occupancy = slots.to(torch.promote_types(slots.dtype, torch.float32)).mean(dim=(-2, -1))  # (B, N)
    return (1.0 / (torch.sin(math.pi * occupancy) + EPSILON)).mean(0).sum()


class _Adversarial(masks.LearnedStrategy):
    """What ADIOS and ADIOS-s share: the occlusion model, the penalty and the mask optimiser.

    Options: ``image_size`` (S), ``n_masks`` (N), ``mask_channels`` (c, the UNet's base width; the
    published ``mask_fbase``), ``alpha_sparsity`` (the penalty's weight), ``mask_lr``, ``mask_norm``
    (gn | in | no), ``mask_optimizer`` (adamw | sgd | lars, from :func:`adios.engine.optim.make_optimizer`,
    5% linear warmup then cosine decay; lars with trust-ratio clipping), ``mask_weight_decay`` (the
    mask optimiser's weight decay, biases and norms excluded; default 0, the published runs use the
    encoder's weight decay) and ``mask_blocks`` (the UNet depth 4, 5 or 6, the published
    ``num_blocks``; None: floor(log2(S)) - 1, the published default rule).
    """

    #: Encode one drawn slot per sample (ADIOS-s) instead of all N.
    single: ClassVar[bool] = False

    def __init__(
        self,
        image_size: int = 32,
        n_masks: int = 6,
        mask_channels: int = 32,
        alpha_sparsity: float = 1.0,
        mask_lr: float = 1e-3,
        mask_norm: str = "gn",
        mask_optimizer: str = "adamw",
        mask_weight_decay: float = 0.0,
        mask_blocks: int | None = None,
    ) -> None:
        _check_options(
            image_size, n_masks, mask_channels, alpha_sparsity, mask_lr, mask_norm, mask_optimizer, mask_weight_decay, mask_blocks
        )
        super().__init__()
        self.occlusion = OcclusionModel(image_size, n_masks, mask_channels, mask_norm, mask_blocks)
        self.n_masks = n_masks
        self.num_masks = 1 if self.single else n_masks
        self.alpha = float(alpha_sparsity)
        self.target_area = None
        self.mask_lr = float(mask_lr)
        self.optimizer_name = mask_optimizer
        self.weight_decay = float(mask_weight_decay)

    def propose(self, images: Tensor) -> Tensor:
        """Soft slots (B, N, H, W) of normalised images (B, 3, H, W); float32 (or float64), summing to 1 over N."""
        return self.occlusion(images)

    def penalty(self, slots: Tensor) -> Tensor:
        """The sparsity penalty over all N slots (B, N, H, W): a float32 scalar."""
        return sparsity_penalty(slots)

    def make_optimizer(self, total_steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """The mask optimiser (``mask_optimizer`` at ``mask_lr``, ``mask_weight_decay``) and its warmup + cosine schedule."""
        return make_optimizer(self.optimizer_name, self.parameters(), self.mask_lr, self.weight_decay, total_steps, MASK_WARMUP)


@masks.register("adios")
class ADIOS(_Adversarial):
    """ADIOS (Shi et al., ICML 2022): N adversarial soft masks, all N masked views encoded (K = N)."""

    def draw(self, slots: Tensor, generator: torch.Generator) -> Tensor:
        """All N slots are the masks: (B, N, H, W) -> (B, N, H, W); the generator is not used."""
        return slots


@masks.register("adios-s")
class ADIOSSingle(_Adversarial):
    """ADIOS-s (Shi et al., ICML 2022): one of the N slots per sample, drawn uniformly (K = 1)."""

    single = True

    def draw(self, slots: Tensor, generator: torch.Generator) -> Tensor:
        """One slot per sample, its index uniform in [0, N) from ``generator``: (B, N, H, W) -> (B, 1, H, W)."""
        return _gather(slots, self._index(slots, generator))

    def draw_views(self, slots_b: Tensor, slots_a: Tensor | None, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """One index per sample, drawn once, picks the slot of view b and the slot of view a (if masked).

        As published for SimSiam (``simsiam_adios_s.py``: one ``chosen_mask`` for both views). View b
        alone is drawn exactly as :meth:`draw` draws it.
        """
        index = self._index(slots_b, generator)
        return _gather(slots_b, index), None if slots_a is None else _gather(slots_a, index)

    @staticmethod
    def _index(slots: Tensor, generator: torch.Generator) -> Tensor:
        """(B,) slot indices, uniform in [0, N), from ``generator``, on the slots' device."""
        b, n = slots.shape[:2]
        return torch.randint(0, n, (b,), generator=generator, device=generator.device).to(slots.device)


def _gather(slots: Tensor, index: Tensor) -> Tensor:
    """The slot ``index[i]`` of every sample i: (B, N, H, W), (B,) -> (B, 1, H, W)."""
    b, _, h, w = slots.shape
    return slots.gather(1, index.view(b, 1, 1, 1).expand(b, 1, h, w))


def _check_options(
    image_size: int,
    n_masks: int,
    mask_channels: int,
    alpha_sparsity: float,
    mask_lr: float,
    mask_norm: str,
    mask_optimizer: str,
    mask_weight_decay: float,
    mask_blocks: int | None,
) -> None:
    """Raise ValueError (TypeError for a non-integer depth) with the fix for an option ADIOS cannot use."""
    resolve_blocks(image_size, mask_blocks)
    if isinstance(n_masks, bool) or not isinstance(n_masks, int) or n_masks < 2:
        raise ValueError(f"n_masks (N) must be an integer >= 2 (the slots partition the image); got {n_masks!r}")
    if isinstance(mask_channels, bool) or not isinstance(mask_channels, int) or mask_channels < 1:
        raise ValueError(f"mask_channels must be a positive integer; got {mask_channels!r}")
    if mask_norm not in NORMS:
        raise ValueError(f"unknown mask_norm '{mask_norm}'; choose one of: {', '.join(NORMS)}")
    if mask_norm == "gn" and mask_channels % 8:
        raise ValueError(f"mask_norm 'gn' (GroupNorm, 8 groups) needs mask_channels divisible by 8; got {mask_channels}")
    if not _is_number(alpha_sparsity) or not math.isfinite(alpha_sparsity) or alpha_sparsity < 0:
        raise ValueError(f"alpha_sparsity must be a finite number >= 0; got {alpha_sparsity!r}")
    if not _is_number(mask_lr) or not math.isfinite(mask_lr) or mask_lr <= 0:
        raise ValueError(f"mask_lr must be a finite number > 0; got {mask_lr!r}")
    if mask_optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown mask_optimizer '{mask_optimizer}'; choose one of: {', '.join(OPTIMIZERS.names())}")
    if not _is_number(mask_weight_decay) or not math.isfinite(mask_weight_decay) or mask_weight_decay < 0:
        raise ValueError(f"mask_weight_decay must be a finite number >= 0 (0: none); got {mask_weight_decay!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
