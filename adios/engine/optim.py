"""Optimisers and the warmup + cosine learning-rate schedule (docs/method.md §6)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable

import torch
from torch import nn

from masks.registry import Registry

#: Optimisers by CLI name: a factory ``(param_groups, lr) -> torch.optim.Optimizer``; group ``adios.optimizers``.
OPTIMIZERS: Registry = Registry("optimizer", "adios.optimizers")

LARS_ETA = 0.02  # the published runs' trust coefficient (YugeTen/adios src/methods/base.py, --eta_lars)
LARS_EPS = 1e-8  # added to the trust ratio's denominator, as in solo-learn's LARS


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over a fraction ``warmup`` of the steps, then cosine decay to zero.

    Parameter groups marked ``fixed_lr`` keep their learning rate throughout (SimSiam's predictor).
    """
    warm = max(1, round(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total_steps - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    lambdas = [(lambda step: 1.0) if group.get("fixed_lr") else factor for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)


def _param_groups(params: Iterable[nn.Parameter], weight_decay: float, fixed: Iterable[nn.Parameter] = ()) -> list[dict]:
    """No weight decay (and no LARS adaptation) on biases and norm parameters (1-d tensors), as usual for SSL.

    Parameters in ``fixed`` get groups of their own whose learning rate is not scheduled.
    """
    fixed_ids = {id(p) for p in fixed}
    params = [p for p in params if p.requires_grad]
    groups = []
    for is_fixed in (False, True):
        chosen = [p for p in params if (id(p) in fixed_ids) == is_fixed]
        decay = [p for p in chosen if p.dim() > 1]
        no_decay = [p for p in chosen if p.dim() <= 1]
        if not is_fixed or chosen:
            groups += [
                {"params": decay, "weight_decay": weight_decay, "adapt": True, "fixed_lr": is_fixed},
                {"params": no_decay, "weight_decay": 0.0, "adapt": False, "fixed_lr": is_fixed},
            ]
    return groups


class LARS(torch.optim.SGD):
    """SGD with momentum and layer-wise adaptive rate scaling (You et al. 2017), as the ADIOS runs use it.

    The published runs wrap SGD in solo-learn's LARS with ``eta`` = 0.02, ``grad_clip_lars`` on and
    biases and norms excluded (docs/method.md §6). For each parameter of a group marked ``adapt``
    whose weight w and gradient g are both non-zero, the gradient becomes

        (g + wd * w) * r,   r = eta * ||w|| / (||g|| + wd * ||w|| + 1e-8),

    Without ``clip`` the step size is lr * r (lr: the group's current, scheduled learning rate).
    With ``clip`` r is replaced by min(r / lr, 1), so the step size is min(r, lr): the adaptive rate
    itself, capped at the learning rate. Then comes plain SGD with momentum (weight decay off, since
    it is already in the gradient). Parameters of groups not marked ``adapt`` (biases and norms), and
    parameters whose weight or gradient is zero, get plain SGD: neither scaling nor weight decay.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, eta: float = LARS_ETA, clip: bool = True) -> None:
        super().__init__(params, lr=lr, momentum=momentum)
        self.eta = eta
        self.clip = clip

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
                ratio = self.eta * w_norm / (g_norm + wd * w_norm + LARS_EPS)
                if self.clip:
                    ratio = (ratio / group["lr"]).clamp(max=1.0)
                adapted = (p.grad + wd * p) * ratio
                p.grad.copy_(torch.where((w_norm > 0) & (g_norm > 0), adapted, p.grad))
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
def lars(groups: list[dict], lr: float, eta: float = LARS_ETA, clip: bool = True) -> torch.optim.Optimizer:
    """SGD with momentum and LARS trust ratios on weights (You et al. 2017), clipped as in the published ADIOS runs."""
    return LARS(groups, lr=lr, eta=eta, clip=clip)


def make_optimizer(
    name: str,
    params: Iterable[nn.Parameter],
    lr: float,
    weight_decay: float,
    total_steps: int,
    warmup: float,
    *,
    lars_eta: float = LARS_ETA,
    lars_clip: bool = True,
    fixed_lr: Iterable[nn.Parameter] = (),
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """An optimiser by name (see :data:`OPTIMIZERS`) and its warmup + cosine schedule.

    ``lars_eta`` and ``lars_clip`` (cap the adaptive rate at the learning rate, the published
    ``grad_clip_lars``) apply to ``lars`` only. Biases and norm parameters get no weight decay.
    Parameters in ``fixed_lr`` keep the learning rate ``lr`` throughout (no warmup, no decay).
    """
    if not isinstance(lars_clip, bool):
        raise TypeError(f"lars_clip must be True or False; got {lars_clip!r}")
    if isinstance(lars_eta, bool) or not isinstance(lars_eta, (int, float)) or not math.isfinite(lars_eta) or lars_eta <= 0:
        raise ValueError(f"lars_eta (the LARS trust coefficient) must be a finite number > 0, e.g. 0.02; got {lars_eta!r}")
    groups = _param_groups(params, weight_decay, fixed_lr)
    factory = OPTIMIZERS.get(name)
    takes = inspect.signature(factory).parameters  # the LARS settings go to the optimisers that take them
    opt = factory(groups, lr, **{k: v for k, v in {"eta": float(lars_eta), "clip": lars_clip}.items() if k in takes})
    return opt, warmup_cosine(opt, total_steps, warmup)
