"""The published ADIOS iteration, mask by mask: what ``train_step``'s batched ADIOS step is measured against.

Shi et al., ICML 2022; YugeTen/adios ``simclr_adios.py``. The encoder step runs the occlusion model
(with autograd on, as published), then for every mask n encodes the clean view a and the masked view
b * (1 - m_n); the mask step runs the occlusion model again and loops again through the frozen
encoder: 2N encoder passes per step, 4N per iteration (against 2N + 2 for ``train_step``). SimCLR only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from adios.engine.objectives import Objective, frozen
from adios.engine.objectives.simclr import nt_xent
from adios.engine.views import Views
from masks import LearnedStrategy


def naive_adios_step(
    objective: Objective,
    strategy: LearnedStrategy,
    views: Views,
    g: torch.Generator,
    optimizer: torch.optim.Optimizer,
    mask_optimizer: torch.optim.Optimizer,
    autocast: Callable[[], contextlib.AbstractContextManager],
) -> None:
    """One published SimCLR-ADIOS iteration (the same maths as ``train_step``, more passes)."""
    a, b = views.a, views.b
    enc, proj, t = objective.encoder, objective.projector, objective.temperature

    with autocast():  # encoder step ("inpaint_forward")
        slots = strategy.propose(b)  # (B, N, H, W)
        loss = 0.0
        for n in range(slots.shape[1]):
            m = slots[:, n : n + 1].detach()
            loss = loss + nt_xent(proj(enc(a)), proj(enc(b * (1 - m))).unsqueeze(0), t)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()

    with frozen(objective), autocast():  # mask step ("mask_forward"): the masks recomputed, the loop again
        slots = strategy.propose(b)
        total = 0.0
        for n in range(slots.shape[1]):
            m = slots[:, n : n + 1]
            total = total + nt_xent(proj(enc(a)), proj(enc(b * (1 - m))).unsqueeze(0), t)
        adversary = -total + strategy.alpha * strategy.penalty(slots)
    mask_optimizer.zero_grad(set_to_none=True)
    adversary.backward()
    mask_optimizer.step()
