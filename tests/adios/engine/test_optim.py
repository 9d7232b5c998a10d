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


def lars_reference(w: torch.Tensor, g: torch.Tensor, lr: float, wd: float, eta: float, clip: bool) -> torch.Tensor:
    """One LARS step from zero momentum, written out from solo-learn's LARS (docs/method.md §6)."""
    w_norm, g_norm = math.sqrt(float((w * w).sum())), math.sqrt(float((g * g).sum()))
    if w_norm == 0 or g_norm == 0:
        return w - lr * g  # no scaling and no weight decay
    r = eta * w_norm / (g_norm + wd * w_norm + 1e-8)
    step = min(r, lr) if clip else lr * r
    return w - step * (g + wd * w)


def lars_one_step(clip: bool, w0: list, g0: list, lr: float, wd: float = 0.1, eta: float = 0.02):
    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    b = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))  # a bias: plain SGD, no decay
    opt = LARS(
        [{"params": [w], "weight_decay": wd, "adapt": True}, {"params": [b], "weight_decay": 0.0, "adapt": False}],
        lr=lr,
        momentum=0.9,
        eta=eta,
        clip=clip,
    )
    w.grad = torch.tensor(g0, dtype=torch.float64)
    b.grad = torch.tensor([4.0], dtype=torch.float64)
    opt.step()
    assert opt.param_groups[0]["weight_decay"] == wd  # restored after the step
    assert torch.allclose(b.detach(), torch.tensor([1.0 - lr * 4.0], dtype=torch.float64))
    return w.detach()


@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize(
    ("w0", "g0", "lr"),
    [
        ([[3.0, 4.0]], [[0.0, 2.0]], 0.5),  # r = 0.02 * 5 / 2.5 = 0.04 < lr
        ([[3.0, 4.0]], [[0.0, 0.01]], 0.1),  # r = 0.02 * 5 / 0.51 ~ 0.196 > lr
    ],
)
def test_lars_step_by_hand(clip, w0, g0, lr):
    expected = lars_reference(torch.tensor(w0, dtype=torch.float64), torch.tensor(g0, dtype=torch.float64), lr, 0.1, 0.02, clip)
    torch.testing.assert_close(lars_one_step(clip, w0, g0, lr), expected, rtol=1e-12, atol=1e-12)


def test_clipping_changes_the_update():
    """r = 0.04 with lr = 0.5: step 0.04 clipped (the rate itself), 0.5 * 0.04 = 0.02 unclipped."""
    w0, g0 = [[3.0, 4.0]], [[0.0, 2.0]]
    direction = torch.tensor([[0.3, 2.4]], dtype=torch.float64)  # g + 0.1 * w
    clipped, unclipped = lars_one_step(True, w0, g0, 0.5), lars_one_step(False, w0, g0, 0.5)
    torch.testing.assert_close(clipped, torch.tensor(w0, dtype=torch.float64) - 0.04 * direction)
    torch.testing.assert_close(unclipped, torch.tensor(w0, dtype=torch.float64) - 0.02 * direction)
    # A large trust ratio: clipping caps the step at lr = 0.1 (unclipped it would be 0.1 * 0.196...).
    capped = lars_one_step(True, w0, [[0.0, 0.01]], 0.1)
    torch.testing.assert_close(
        capped, torch.tensor(w0, dtype=torch.float64) - 0.1 * torch.tensor([[0.3, 0.41]], dtype=torch.float64)
    )


def test_lars_momentum_over_two_steps():
    w = torch.nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 2.0]], dtype=torch.float64))
    opt = LARS([{"params": [w], "weight_decay": 0.01, "adapt": True}], lr=0.3, momentum=0.9, eta=0.02, clip=True)
    grads = [
        torch.tensor([[0.1, 0.2], [-0.3, 0.05]], dtype=torch.float64),
        torch.tensor([[0.0, -0.1], [0.2, 0.1]], dtype=torch.float64),
    ]
    ref, buf = w.detach().clone(), None
    for g in grads:
        w.grad = g.clone()
        opt.step()
        r = 0.02 * float(ref.norm()) / (float(g.norm()) + 0.01 * float(ref.norm()) + 1e-8)
        d = (g + 0.01 * ref) * min(r / 0.3, 1.0)
        buf = d if buf is None else 0.9 * buf + d
        ref = ref - 0.3 * buf
    torch.testing.assert_close(w.detach(), ref, rtol=1e-12, atol=1e-12)


def test_lars_leaves_zero_gradients_alone():
    """As published: a weight whose gradient is zero gets neither scaling nor weight decay."""
    w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]]))
    opt = LARS([{"params": [w], "weight_decay": 0.1, "adapt": True}], lr=0.5, momentum=0.9)
    w.grad = torch.zeros(1, 2)
    opt.step()
    assert torch.equal(w.detach(), torch.tensor([[3.0, 4.0]]))


@pytest.mark.parametrize("clip", [True, False])
def test_make_optimizer_passes_the_lars_options(clip):
    model = torch.nn.Linear(2, 1, dtype=torch.float64)
    opt, _ = make_optimizer("lars", model.parameters(), 0.5, 0.1, 10, 0.1, lars_eta=0.05, lars_clip=clip)
    assert isinstance(opt, LARS) and opt.clip is clip and opt.eta == 0.05
    assert LARS([torch.nn.Parameter(torch.zeros(2, 2))], lr=0.1).clip is True  # on by default


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"lars_clip": 1}, TypeError, "lars_clip"),
        ({"lars_eta": 0.0}, ValueError, "lars_eta"),
        ({"lars_eta": float("inf")}, ValueError, "lars_eta"),
    ],
)
def test_bad_lars_options(options, error, message):
    with pytest.raises(error, match=message):
        make_optimizer("lars", [torch.nn.Parameter(torch.zeros(2, 2))], 0.1, 0.0, 10, 0.1, **options)


def test_no_decay_on_biases_and_norms():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt, _ = make_optimizer("adamw", model.parameters(), 1e-3, 0.05, 10, 0.1)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.05 and [p.shape for p in decay["params"]] == [torch.Size([4, 3])]
    assert no_decay["weight_decay"] == 0.0 and len(no_decay["params"]) == 3


def test_unknown_optimizer():
    with pytest.raises(UserError, match="unknown optimizer 'adam'"):
        make_optimizer("adam", [torch.nn.Parameter(torch.zeros(2, 2))], 1e-3, 0.0, 10, 0.1)


@pytest.mark.parametrize("objective", ["byol", "simsiam"])
@pytest.mark.parametrize("fixed", [True, False])
def test_the_predictor_can_keep_a_constant_learning_rate(objective, fixed):
    from adios.engine.encoders import build_encoder
    from adios.engine.objectives import build_objective

    model = build_objective(objective, build_encoder("resnet-tiny", 32), fixed_predictor_lr=fixed)
    predictor = {id(p) for p in model.predictor.parameters()}
    trained = [p for p in model.parameters() if p.requires_grad]
    opt, schedule = make_optimizer("sgd", trained, 0.1, 0.0, 10, 0.2, fixed_lr=model.fixed_lr_parameters())
    for _ in range(6):  # past the warmup, into the cosine decay
        opt.step()
        schedule.step()
    rates = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert all((rates[i] == 0.1) is fixed for i in predictor)
    assert all(rate < 0.1 for i, rate in rates.items() if i not in predictor)
