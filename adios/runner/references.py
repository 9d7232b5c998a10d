"""Reference rows of every table: the untrained encoder, and the same encoder trained with labels."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from adios.engine.encoders import Encoder
from adios.engine.optim import make_optimizer
from adios.engine.trainer import Schedule, TrainResult, TrainState, precision_context
from adios.engine.views import PairedViews

REFERENCES = ("random-init", "supervised")


def train_supervised(
    encoder: Encoder,
    n_classes: int,
    views: PairedViews,
    *,
    epochs: int,
    batch_size: int,
    optimizer: str,
    lr: float,
    weight_decay: float,
    warmup: float,
    precision: str = "fp32",
    device: torch.device | str = "cpu",
    on_step: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Cross-entropy on view a of the same pairs, with the same budget and optimiser as the SSL runs."""
    device = torch.device(device)
    head = nn.Linear(encoder.feature_dim, n_classes).to(device)
    model = nn.Sequential(encoder, head).train()
    schedule = Schedule.of(views, batch_size, epochs)
    total = schedule.total
    opt, sched = make_optimizer(optimizer, model.parameters(), lr, weight_decay, total, warmup)
    state = TrainState()
    for step in range(total):
        t0 = time.perf_counter()
        batch = views(step, schedule.indices(step)).to(device)
        with precision_context(device, precision):
            loss = F.cross_entropy(model(batch.a).float(), batch.labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        state.train_seconds += time.perf_counter() - t0
        state.losses.append(float(loss.detach()))
        state.step += 1
        state.encoder_images += batch.a.shape[0]
        if on_step is not None:
            on_step(state.step, total, state.losses[-1])
    return TrainResult(state=state, steps_per_epoch=schedule.steps_per_epoch, batch_size=schedule.batch_size)
