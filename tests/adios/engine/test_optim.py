import itertools
import math

import pytest
import torch

from adios.engine.optim import LARS, make_optimizer, warmup_cosine
from adios.errors import UserError


def test_warmup_then_cosine():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, total_steps=10, warmup=0.2)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:2] == pytest.approx([0.5, 1.0])
    assert lrs[2] == pytest.approx(1.0)
    assert lrs[6] == pytest.approx(0.5 * (1 + math.cos(math.pi * 4 / 8)))
    assert all(a >= b for a, b in itertools.pairwise(lrs[1:]))


def test_lars_step_by_hand():
    w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5, adapted
    b = torch.nn.Parameter(torch.tensor([1.0]))  # a bias: plain SGD
    opt = LARS(
        [{"params": [w], "weight_decay": 0.1, "adapt": True}, {"params": [b], "weight_decay": 0.0, "adapt": False}],
        lr=0.5,
        momentum=0.0,
        eta=0.02,
    )
    w.grad = torch.tensor([[0.0, 2.0]])  # ||g|| = 2
    b.grad = torch.tensor([4.0])
    opt.step()
    trust = 0.02 * 5 / (2 + 0.1 * 5)
    update = (torch.tensor([[0.0, 2.0]]) + 0.1 * torch.tensor([[3.0, 4.0]])) * trust
    assert torch.allclose(w.detach(), torch.tensor([[3.0, 4.0]]) - 0.5 * update)
    assert torch.allclose(b.detach(), torch.tensor([1.0 - 0.5 * 4.0]))
    assert opt.param_groups[0]["weight_decay"] == 0.1  # restored after the step


def test_no_decay_on_biases_and_norms():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt, _ = make_optimizer("adamw", model.parameters(), 1e-3, 0.05, 10, 0.1)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.05 and [p.shape for p in decay["params"]] == [torch.Size([4, 3])]
    assert no_decay["weight_decay"] == 0.0 and len(no_decay["params"]) == 3


def test_unknown_optimizer():
    with pytest.raises(UserError, match="unknown optimizer 'adam'"):
        make_optimizer("adam", [torch.nn.Parameter(torch.zeros(2, 2))], 1e-3, 0.0, 10, 0.1)
