"""Optimisers and the warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from masks.registry import Registry

#: Optimisers by CLI name: a factory ``(param_groups, lr) -> torch.optim.Optimizer``; group ``adios.optimizers``.
OPTIMIZERS: Registry = Registry("optimizer", "adios.optimizers")


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over a fraction ``warmup`` of the steps, then cosine decay to zero."""
    warm = max(1, round(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total_steps - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _param_groups(params: Iterable[nn.Parameter], weight_decay: float) -> list[dict]:
    """No weight decay (and no LARS adaptation) on biases and norm parameters (1-d tensors), as usual for SSL."""
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    return [
        {"params": decay, "weight_decay": weight_decay, "adapt": True},
        {"params": no_decay, "weight_decay": 0.0, "adapt": False},
    ]


class LARS(torch.optim.SGD):
    """SGD with momentum and layer-wise adaptive rate scaling (You et al. 2017), as solo-learn applies it.

    In the groups marked ``adapt`` (weights, not biases or norms), each parameter's update
    g + wd*w is scaled by the trust ratio eta * ||w|| / (||g|| + wd * ||w||).
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, eta: float = 0.02) -> None:
        super().__init__(params, lr=lr, momentum=momentum)
        self.eta = eta

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            wd = group["weight_decay"]
            group["_wd"], group["weight_decay"] = wd, 0.0
            if not group.get("adapt", True):
                continue
            for p in group["params"]:
                if p.grad is None:
                    continue
                w_norm, g_norm = p.norm(), p.grad.norm()
                trust = torch.where((w_norm > 0) & (g_norm > 0), self.eta * w_norm / (g_norm + wd * w_norm), 1.0)
                p.grad.add_(p, alpha=wd).mul_(trust)
        try:
            return super().step(closure)
        finally:
            for group in self.param_groups:
                group["weight_decay"] = group.pop("_wd")


@OPTIMIZERS.register("adamw")
def adamw(groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """AdamW (Loshchilov & Hutter 2019), weight decay per parameter group."""
    return torch.optim.AdamW(groups, lr=lr)


@OPTIMIZERS.register("sgd")
def sgd(groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """SGD with momentum 0.9."""
    return torch.optim.SGD(groups, lr=lr, momentum=0.9)


@OPTIMIZERS.register("lars")
def lars(groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """SGD with momentum and LARS trust ratios on weights (You et al. 2017), as in the published ADIOS runs."""
    return LARS(groups, lr=lr)


def make_optimizer(
    name: str, params: Iterable[nn.Parameter], lr: float, weight_decay: float, total_steps: int, warmup: float
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """An optimiser by name (see :data:`OPTIMIZERS`) and its warmup + cosine schedule."""
    opt = OPTIMIZERS.get(name)(_param_groups(params, weight_decay), lr)
    return opt, warmup_cosine(opt, total_steps, warmup)
