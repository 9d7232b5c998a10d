"""ADIOS and ADIOS-s: the penalty, the draws, the options, and the two updates of the trainer's step.

The efficiency checks compare :func:`adios.engine.trainer.train_step` (one occlusion forward shared by both
steps, the clean view encoded once, the N masked views in one batched forward) with the published
algorithm written out as a per-mask loop (Shi et al., ICML 2022; YugeTen/adios ``*_adios.py``).
"""

import contextlib
import copy
import math

import pytest
import torch

import adios  # noqa: F401  (registers the strategies)
import masks
from adios.engine.encoders import build_encoder
from adios.engine.objectives import build_objective, frozen
from adios.engine.objectives.byol import byol_regression
from adios.engine.objectives.simclr import nt_xent
from adios.engine.objectives.simsiam import negative_cosine
from adios.engine.trainer import train, train_step
from adios.engine.views import AugmentSettings, PairedViews, Views
from adios.method.masker import ADIOS, ADIOSSingle, sparsity_penalty

HEADS = {
    "simclr": {"proj_hidden": 32, "proj_out": 16, "temperature": 0.2},
    "byol": {"proj_hidden": 32, "proj_out": 16, "pred_hidden": 32},
    "simsiam": {"proj_hidden": 32, "proj_out": 16, "pred_hidden": 8},
}
OBJECTIVES = list(HEADS)
VARIANTS = ["adios", "adios-s"]
B, SIZE, N = 8, 32, 3


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- penalty, draws, options


def test_penalty_matches_hand_computation():
    slots = torch.zeros(2, 2, 2, 2)
    slots[0, 0, 0, 0] = 1  # sample 0: slot 0 covers 1/4, slot 1 covers 3/4
    slots[0, 1] = 1 - slots[0, 0]
    slots[1, 0, 0] = 1  # sample 1: both slots cover 1/2
    slots[1, 1] = 1 - slots[1, 0]
    slot0 = (1 / math.sin(math.pi / 4) + 1 / math.sin(math.pi / 2)) / 2
    slot1 = (1 / math.sin(3 * math.pi / 4) + 1 / math.sin(math.pi / 2)) / 2
    assert float(sparsity_penalty(slots)) == pytest.approx(slot0 + slot1, rel=1e-6)
    assert float(sparsity_penalty(slots)) == pytest.approx(1 + math.sqrt(2), rel=1e-6)


def test_penalty_is_float32_over_all_slots_and_uses_the_epsilon():
    slots = torch.full((3, 4, 2, 2), 0.25, dtype=torch.bfloat16)
    p = ADIOSSingle(n_masks=4).penalty(slots)
    assert p.dtype == torch.float32 and p.dim() == 0
    assert float(p) == pytest.approx(4 / math.sin(math.pi / 4), rel=1e-6)
    empty = torch.zeros(1, 2, 2, 2)
    assert float(sparsity_penalty(empty)) == pytest.approx(2e10, rel=1e-6)


def test_full_adios_draws_every_slot():
    strategy = ADIOS(n_masks=4, mask_channels=8)
    slots = torch.rand(3, 4, 32, 32)
    assert strategy.draw(slots, torch.Generator()) is slots
    assert strategy.num_masks == 4


def test_single_adios_draws_one_uniform_slot_per_sample():
    strategy = ADIOSSingle(n_masks=4, mask_channels=8)
    assert strategy.num_masks == 1
    b = 4000
    slots = torch.arange(4.0).view(1, 4, 1, 1).expand(b, 4, 2, 2) / 4  # slot n holds n/4 everywhere
    drawn = strategy.draw(slots, torch.Generator().manual_seed(0))
    assert drawn.shape == (b, 1, 2, 2)
    index = (drawn[:, 0, 0, 0] * 4).round().long()
    assert torch.equal(drawn, slots[torch.arange(b), index].unsqueeze(1))  # one whole slot per sample
    freq = torch.bincount(index, minlength=4).float() / b
    assert float((freq - 0.25).abs().max()) < 0.03
    again = strategy.draw(slots, torch.Generator().manual_seed(0))
    other = strategy.draw(slots, torch.Generator().manual_seed(1))
    assert torch.equal(drawn, again) and not torch.equal(drawn, other)


def test_binary_masks_of_full_adios_partition_the_image():
    torch.manual_seed(0)
    strategy = masks.build("adios", image_size=32, n_masks=5, mask_channels=8)
    with torch.no_grad():
        hard = strategy.binary_masks(torch.randn(2, 3, 32, 32), torch.Generator())
    assert hard.shape == (2, 5, 32, 32) and hard.dtype == torch.bool
    assert torch.equal(hard.sum(1), torch.ones(2, 32, 32, dtype=torch.long))


def test_registry_builds_with_options():
    strategy = masks.build("adios-s", image_size=64, n_masks=4, mask_channels=16, alpha_sparsity=0.5, mask_area=0.3)
    assert isinstance(strategy, ADIOSSingle) and masks.is_learned(strategy)
    assert strategy.alpha == 0.5 and strategy.target_area is None and strategy.occlusion.unet.levels == 5
    assert strategy.options == {
        "image_size": 64,
        "n_masks": 4,
        "mask_channels": 16,
        "alpha_sparsity": 0.5,
        "mask_lr": 1e-3,
        "mask_norm": "gn",
        "mask_optimizer": "adamw",
        "mask_weight_decay": 0.0,
        "mask_blocks": None,
    }
    assert masks.get("adios") is ADIOS and ADIOS.name == "adios" and ADIOSSingle.name == "adios-s"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"image_size": 16}, "4, 5 or 6 levels"),
        ({"image_size": 512}, "4, 5 or 6 levels"),
        ({"n_masks": 1}, "n_masks"),
        ({"n_masks": 2.5}, "n_masks"),
        ({"mask_channels": 0}, "mask_channels"),
        ({"mask_channels": 12}, "divisible by 8"),
        ({"mask_norm": "bn"}, "mask_norm"),
        ({"alpha_sparsity": -1.0}, "alpha_sparsity"),
        ({"alpha_sparsity": float("nan")}, "alpha_sparsity"),
        ({"mask_lr": 0.0}, "mask_lr"),
        ({"mask_optimizer": "adam"}, "mask_optimizer"),
        ({"mask_weight_decay": -1e-5}, "mask_weight_decay"),
        ({"mask_weight_decay": float("nan")}, "mask_weight_decay"),
        ({"mask_blocks": 3}, "mask_blocks 3 has no channel table"),
        ({"image_size": 16, "mask_blocks": 6}, "mask_blocks 6 does not fit image_size 16"),
    ],
)
@pytest.mark.parametrize("cls", [ADIOS, ADIOSSingle])
def test_bad_options_raise_value_errors(cls, options, message):
    with pytest.raises(ValueError, match=message):
        cls(**options)


def test_in_and_no_norms_accept_any_width():
    assert ADIOS(mask_channels=12, mask_norm="in").occlusion.unet.channels == 12
    assert ADIOS(mask_channels=5, mask_norm="no").occlusion.unet.channels == 5


@pytest.mark.parametrize("name", ["adamw", "sgd", "lars"])
def test_mask_optimizer(name):
    strategy = ADIOS(mask_channels=8, mask_lr=0.02, mask_optimizer=name)
    opt, sched = strategy.make_optimizer(total_steps=100)
    params = [p for group in opt.param_groups for p in group["params"]]
    assert sorted(map(id, params)) == sorted(id(p) for p in strategy.parameters())
    assert all(group["weight_decay"] == 0.0 for group in opt.param_groups)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.02 / 5)  # 5% warmup of 100 steps: step 1 of 5
    for _ in range(5):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.02)


@pytest.mark.parametrize("name", ["adamw", "sgd", "lars"])
def test_mask_weight_decay_reaches_the_mask_optimizer(name):
    """As published (base_adios.py: the mask optimiser is built with weight_decay), biases and norms excluded."""
    strategy = ADIOS(mask_channels=8, mask_optimizer=name, mask_weight_decay=1e-5)
    opt, _ = strategy.make_optimizer(total_steps=10)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 1e-5 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() > 1 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(strategy.parameters()))


def test_mask_weight_decay_changes_the_mask_update():
    """One plain-SGD mask step with decay wd moves every decayed weight by -lr * wd * w more than without."""
    steps = {}
    for wd in (0.0, 0.1):
        torch.manual_seed(0)
        strategy = ADIOS(n_masks=3, mask_channels=8, mask_lr=0.5, mask_optimizer="sgd", mask_weight_decay=wd)
        opt, _ = strategy.make_optimizer(total_steps=1)  # one step: no warmup factor below 1
        opt.param_groups[0]["momentum"] = opt.param_groups[1]["momentum"] = 0.0
        before = {k: v.detach().clone() for k, v in strategy.named_parameters()}
        strategy.penalty(strategy.propose(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)))).backward()
        opt.step()
        steps[wd] = {k: v.detach() - before[k] for k, v in strategy.named_parameters()}
        weights = before
    for k, w in weights.items():
        extra = steps[0.1][k] - steps[0.0][k]
        expected = -0.5 * 0.1 * w if w.dim() > 1 else torch.zeros_like(w)
        torch.testing.assert_close(extra, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls", [ADIOS, ADIOSSingle])
def test_mask_blocks_sets_the_unet_depth(cls):
    assert cls(image_size=96, mask_channels=8, mask_blocks=4).occlusion.unet.levels == 4
    assert cls(image_size=96, mask_channels=8).occlusion.unet.levels == 5  # the default rule at 96 px
    assert masks.build(cls.name, image_size=64, mask_channels=8, mask_blocks=6).occlusion.unet.bottleneck == 2


def test_single_adios_draws_one_index_for_both_views():
    """ADIOS-s's draw_views: view a takes the slot of view b's index, and view b is drawn as draw draws it."""
    strategy = ADIOSSingle(n_masks=4, mask_channels=8)
    b = 512
    slots_b = torch.arange(4.0).view(1, 4, 1, 1).expand(b, 4, 2, 2)  # slot n holds n
    slots_a = 10 + slots_b  # slot n holds 10 + n
    masks_b, masks_a = strategy.draw_views(slots_b, slots_a, torch.Generator().manual_seed(3))
    assert masks_b.shape == masks_a.shape == (b, 1, 2, 2)
    assert torch.equal(masks_a - 10, masks_b)
    assert len(masks_b.unique()) == 4  # the indices do vary over the batch
    assert torch.equal(masks_b, strategy.draw(slots_b, torch.Generator().manual_seed(3)))
    alone_b, none = strategy.draw_views(slots_b, None, torch.Generator().manual_seed(3))
    assert none is None and torch.equal(alone_b, masks_b)


def test_full_adios_draws_every_slot_of_both_views():
    strategy = ADIOS(n_masks=4, mask_channels=8)
    slots_b, slots_a = torch.rand(3, 4, 8, 8), torch.rand(3, 4, 8, 8)
    masks_b, masks_a = strategy.draw_views(slots_b, slots_a, torch.Generator())
    assert masks_b is slots_b and masks_a is slots_a


# ---------------------------------------------------------------- the trainer's step


def build(objective_name: str, strategy_name: str, seed: int = 0, dtype: torch.dtype = torch.float32, **objective_options):
    """Tiny models and a batch: resnet-tiny, small heads, N = 3 slots of an 8-channel UNet, B = 8 at 32 px."""
    torch.manual_seed(seed)
    options = HEADS[objective_name] | objective_options
    objective = build_objective(objective_name, build_encoder("resnet-tiny", SIZE), **options)
    strategy = masks.build(strategy_name, image_size=SIZE, n_masks=N, mask_channels=8)
    g = torch.Generator().manual_seed(seed + 100)
    a, b = torch.randn(B, 3, SIZE, SIZE, generator=g), torch.randn(B, 3, SIZE, SIZE, generator=g)
    views = Views(a=a.to(dtype), b=b.to(dtype), instances_a=None, instances_b=None, labels=torch.zeros(B))
    return objective.to(dtype).train(), strategy.to(dtype).train(), views


def trainable(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters (batch-norm running statistics move in every training-mode forward, as published)."""
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def same(x: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> bool:
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def drawn_masks(strategy, views: Views, both: bool, seed: int):
    """The masks train_step draws with a generator seeded ``seed``: (encoder step, mask step), each (b, a)."""
    g = torch.Generator().manual_seed(seed)
    slots_b = strategy.propose(views.b)
    slots_a = strategy.propose(views.a) if both else None
    enc = strategy.draw_views(slots_b, slots_a, g)
    mask = strategy.draw_views(slots_b, slots_a, g)
    penalty = strategy.penalty(slots_b) + (strategy.penalty(slots_a) if both else 0.0)
    return enc, mask, penalty


@pytest.mark.parametrize("strategy_name", VARIANTS)
@pytest.mark.parametrize("objective_name", OBJECTIVES)
def test_encoder_step_descends_and_mask_step_ascends(objective_name, strategy_name):
    objective, strategy, views = build(objective_name, strategy_name)
    both, seed, a, b = objective.masks_both_views, 5, views.a, views.b
    masker_before = copy.deepcopy(strategy)
    enc_opt = torch.optim.SGD(trainable(objective), lr=2e-3)
    mask_opt = torch.optim.SGD(strategy.parameters(), lr=2e-3)
    result = train_step(
        objective, strategy, views, torch.Generator().manual_seed(seed), enc_opt, mask_opt, contextlib.nullcontext
    )

    # The objective with the encoder step's masks (from the masker before its update), before and after the encoder step.
    with torch.no_grad():
        (enc_b, enc_a), (old_b, old_a), old_penalty = drawn_masks(masker_before, views, both, seed)
        (_, _), (new_b, new_a), new_penalty = drawn_masks(strategy, views, both, seed)
        encoder_after = float(objective.loss(a, b, enc_b, enc_a))
        mask_objective_before = float(objective.loss(a, b, old_b, old_a)) - strategy.alpha * float(old_penalty)
        mask_objective_after = float(objective.loss(a, b, new_b, new_a)) - strategy.alpha * float(new_penalty)
    assert encoder_after < result.loss - 1e-6, "the encoder step must lower the objective"
    assert result.mask_loss == pytest.approx(-mask_objective_before, rel=1e-5)
    assert mask_objective_after > mask_objective_before + 1e-6, "the mask step must raise objective - alpha * penalty"


@pytest.mark.parametrize("strategy_name", VARIANTS)
@pytest.mark.parametrize("objective_name", OBJECTIVES)
def test_each_step_updates_only_its_own_model(objective_name, strategy_name):
    objective, strategy, views = build(objective_name, strategy_name)
    record: dict = {"objective_before": snapshot(objective), "masker_before": snapshot(strategy)}
    enc_opt = torch.optim.SGD(trainable(objective), lr=0.05)
    mask_opt = torch.optim.SGD(strategy.parameters(), lr=0.05)

    def before_encoder_update(*_):
        record["encoder_grads"] = [p.grad.clone() for p in trainable(objective)]
        record["masker_grads_in_encoder_step"] = [p.grad for p in strategy.parameters()]

    def after_encoder_update(*_):
        record["objective_after_encoder_step"] = snapshot(objective)
        record["masker_after_encoder_step"] = snapshot(strategy)

    def before_mask_update(*_):
        record["objective_grads_in_mask_step"] = [p.grad for p in trainable(objective)]
        record["masker_grads"] = [p.grad for p in strategy.parameters()]

    enc_opt.register_step_pre_hook(before_encoder_update)
    enc_opt.register_step_post_hook(after_encoder_update)
    mask_opt.register_step_pre_hook(before_mask_update)
    train_step(objective, strategy, views, torch.Generator().manual_seed(0), enc_opt, mask_opt, contextlib.nullcontext)

    # Encoder step: the encoder and heads move, the masker neither moves nor receives gradients.
    assert not same(record["objective_after_encoder_step"], record["objective_before"])
    assert same(record["masker_after_encoder_step"], record["masker_before"])
    assert all(grad is None for grad in record["masker_grads_in_encoder_step"])
    # Mask step: the masker moves (every parameter has a gradient); the encoder and heads neither move
    # nor accumulate parameter gradients (theirs are still exactly the encoder step's).
    assert all(grad is not None and bool(grad.abs().sum() > 0) for grad in record["masker_grads"])
    assert not same(snapshot(strategy), record["masker_after_encoder_step"])
    assert same(snapshot(objective), record["objective_after_encoder_step"])
    for g_mask_step, g_encoder_step in zip(record["objective_grads_in_mask_step"], record["encoder_grads"], strict=True):
        assert torch.equal(g_mask_step, g_encoder_step)
    assert all(p.requires_grad for p in trainable(objective))  # frozen() restored them


def slot_index(masks: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    """(B,) the slot of ``slots`` (B, N, H, W) that each single mask (B, 1, H, W) is, checked to be exact."""
    index = (masks - slots).abs().flatten(2).sum(-1).argmin(1)
    assert torch.equal(masks[:, 0], slots[torch.arange(len(index)), index])
    return index


def test_single_adios_under_simsiam_takes_one_slot_index_for_both_views():
    """In both steps of train_step, view a's mask is the slot of the index view b's mask has (simsiam_adios_s.py)."""
    objective, strategy, views = build("simsiam", "adios-s")
    with torch.no_grad():
        slots_b, slots_a = strategy.propose(views.b), strategy.propose(views.a)
    calls, loss = [], objective.loss

    def recording_loss(a, b, masks_b, masks_a=None):
        calls.append((masks_b.detach().clone(), masks_a.detach().clone()))
        return loss(a, b, masks_b, masks_a)

    objective.loss = recording_loss
    enc_opt = torch.optim.SGD(trainable(objective), lr=1e-3)
    mask_opt = torch.optim.SGD(strategy.parameters(), lr=1e-3)
    train_step(objective, strategy, views, torch.Generator().manual_seed(7), enc_opt, mask_opt, contextlib.nullcontext)
    assert len(calls) == 2  # the encoder step, then the mask step (which draws anew, as published)
    indices = []
    for masks_b, masks_a in calls:
        assert masks_b.shape == masks_a.shape == (B, 1, SIZE, SIZE)
        index = slot_index(masks_b, slots_b)
        assert torch.equal(slot_index(masks_a, slots_a), index)
        indices.append(index)
    assert any(len(index.unique()) > 1 for index in indices)  # the index varies over the batch


# ---------------------------------------------------------------- the efficiency check


def naive_term(objective, name: str, a, b, m_b, m_a):
    """The objective for ONE mask, as the published loop computes it: every view encoded separately."""
    enc, proj = objective.encoder, objective.projector
    if name == "simclr":
        return nt_xent(proj(enc(a)), proj(enc(b * (1 - m_b))).unsqueeze(0), objective.temperature)
    if name == "byol":
        pred = objective.predictor
        with torch.no_grad():
            t1 = objective.target_projector(objective.target_encoder(a))
            t2 = objective.target_projector(objective.target_encoder(b * (1 - m_b)))
        p1, p2 = pred(proj(enc(a))), pred(proj(enc(b * (1 - m_b))))
        return byol_regression(p1, t2) + byol_regression(p2, t1)
    pred = objective.predictor  # simsiam: both views masked, the pairs simsiam_adios.py switches on
    z1, z2 = proj(enc(a)), proj(enc(b))
    z1m, z2m = proj(enc(a * (1 - m_a))), proj(enc(b * (1 - m_b)))
    p1, p2, p1m, p2m = pred(z1), pred(z2), pred(z1m), pred(z2m)
    terms = [negative_cosine(p1m, z2), negative_cosine(p2m, z1)]
    if "masked" in objective.terms:
        terms += [negative_cosine(p2, z1m), negative_cosine(p1, z2m)]
    if "clean" in objective.terms:
        terms += [negative_cosine(p1, z2), negative_cosine(p2, z1)]
    if "both-masked" in objective.terms:
        terms += [negative_cosine(p1m, z2m), negative_cosine(p2m, z1m)]
    return torch.stack(terms).mean()


def published_draw(strategy, slots_b, slots_a, g: torch.Generator):
    """The masks the published code encodes, from the slots of view b (and a, for SimSiam).

    ADIOS: all N slots (``torch.chunk(masks, N)``). ADIOS-s: one ``chosen_mask`` index per image
    (``torch.randint``, here from ``g``), the same index for both views (``simsiam_adios_s.py``).
    """
    if strategy.name == "adios":
        return slots_b, slots_a
    chosen = torch.randint(0, slots_b.shape[1], (slots_b.shape[0],), generator=g)
    pick = lambda slots: torch.stack([slots[i, c] for i, c in enumerate(chosen.tolist())]).unsqueeze(1)  # noqa: E731
    return pick(slots_b), None if slots_a is None else pick(slots_a)


def naive_step(objective, name: str, strategy, views: Views, g: torch.Generator, lr: float):
    """The published algorithm: encoder step over a loop of masks, SGD update, then the mask step
    recomputing the masks with the occlusion model and looping again through the frozen encoder."""
    a, b = views.a, views.b
    both = objective.masks_both_views
    params = trainable(objective)

    masks_b, masks_a = published_draw(strategy, strategy.propose(b), strategy.propose(a) if both else None, g)
    masks_b, masks_a = masks_b.detach(), masks_a.detach() if both else None
    terms = [
        naive_term(objective, name, a, b, masks_b[:, n : n + 1], masks_a[:, n : n + 1] if both else None)
        for n in range(masks_b.shape[1])
    ]
    loss = torch.stack(terms).sum()
    encoder_grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, grad in zip(params, encoder_grads, strict=True):
            p.add_(grad, alpha=-lr)  # the SGD update train_step's optimiser makes

    with frozen(objective):
        slots_b = strategy.propose(b)  # recomputed
        slots_a = strategy.propose(a) if both else None
        masks_b, masks_a = published_draw(strategy, slots_b, slots_a, g)
        terms = [
            naive_term(objective, name, a, b, masks_b[:, n : n + 1], masks_a[:, n : n + 1] if both else None)
            for n in range(masks_b.shape[1])
        ]
        penalty = sparsity_penalty(slots_b) + (sparsity_penalty(slots_a) if both else 0.0)
        adversary = -torch.stack(terms).sum() + strategy.alpha * penalty
        mask_grads = torch.autograd.grad(adversary, list(strategy.parameters()))
    return float(loss.detach()), float(adversary.detach()), encoder_grads, mask_grads


def assert_grads_close(actual, expected, rtol: float, what: str) -> None:
    """Every gradient tensor, and the concatenation of all of them, within ``rtol`` of the reference."""
    flat_x, flat_y = torch.cat([x.flatten() for x in actual]), torch.cat([y.flatten() for y in expected])
    scale = float(flat_y.abs().max())  # some gradients are ~0 in theory (a bias before a batch norm): compare to the whole
    for x, y in zip(actual, expected, strict=True):
        torch.testing.assert_close(x, y, rtol=rtol, atol=rtol * scale, msg=lambda m: f"{what}: {m}")
    assert float((flat_x - flat_y).norm()) <= rtol * float(flat_y.norm()), what


# float64 shows that the maths is the same (agreement to ~1e-15), with a real encoder update between
# the two steps. In float32 the check runs on the same encoder weights in both steps (lr 0): the
# mask-step gradient of the UNet is a sum of many cancelling pixel terms, so it is very sensitive to
# the encoder's weights (a 1e-6 relative change of them moves it by ~1e-3 to 1e-2 relative, measured),
# and float32 rounding in the encoder update alone would blur the comparison.
PRECISIONS = [(torch.float64, 0.05, 1e-9), (torch.float32, 0.0, 1e-4)]


@pytest.mark.parametrize(("dtype", "lr", "rtol"), PRECISIONS, ids=["float64", "float32"])
@pytest.mark.parametrize("strategy_name", VARIANTS)
@pytest.mark.parametrize("objective_name", OBJECTIVES)
def test_efficient_step_equals_the_per_mask_loop(objective_name, strategy_name, dtype, lr, rtol, monkeypatch):
    check_step_against_loop(objective_name, strategy_name, dtype, lr, rtol, monkeypatch)


@pytest.mark.parametrize("terms", [("clean",), ("masked",), ()], ids=["clean", "masked", "base-only"])
@pytest.mark.parametrize("strategy_name", VARIANTS)
def test_efficient_simsiam_step_equals_the_loop_for_other_terms(strategy_name, terms, monkeypatch):
    """The published STL-10 term sets (and the base pair alone), in float64."""
    check_step_against_loop("simsiam", strategy_name, *PRECISIONS[0], monkeypatch, terms=terms)


def check_step_against_loop(objective_name, strategy_name, dtype, lr, rtol, monkeypatch, **objective_options):
    """train_step's loss, adversary and gradients against :func:`naive_step`'s."""
    if dtype == torch.float64:
        # BYOL's and SimSiam's cosine runs in float32 by design, where the batched form sums the K terms'
        # gradients in float32; keep it in float64 here so that the comparison is exact.
        exact = lambda p, z: torch.nn.functional.cosine_similarity(p.double(), z.double(), dim=-1)  # noqa: E731
        monkeypatch.setattr("adios.engine.objectives.byol.cosine", exact)
        monkeypatch.setattr("adios.engine.objectives.simsiam.cosine", exact)
    objective, strategy, views = build(objective_name, strategy_name, seed=1, dtype=dtype, **objective_options)
    naive_objective, naive_strategy = copy.deepcopy(objective), copy.deepcopy(strategy)
    seed = 3
    grads: dict = {}
    enc_opt = torch.optim.SGD(trainable(objective), lr=lr)
    mask_opt = torch.optim.SGD(strategy.parameters(), lr=lr)
    enc_opt.register_step_pre_hook(lambda *_: grads.update(encoder=[p.grad.clone() for p in trainable(objective)]))
    mask_opt.register_step_pre_hook(lambda *_: grads.update(mask=[p.grad.clone() for p in strategy.parameters()]))
    result = train_step(
        objective, strategy, views, torch.Generator().manual_seed(seed), enc_opt, mask_opt, contextlib.nullcontext
    )

    loss, adversary, encoder_grads, mask_grads = naive_step(
        naive_objective, objective_name, naive_strategy, views, torch.Generator().manual_seed(seed), lr
    )
    assert result.loss == pytest.approx(loss, rel=10 * rtol)
    assert result.mask_loss == pytest.approx(adversary, rel=10 * rtol)
    assert_grads_close(grads["encoder"], encoder_grads, rtol, "encoder-step gradients")
    assert_grads_close(grads["mask"], mask_grads, rtol, "mask-step gradients")


# ---------------------------------------------------------------- the real training loop


@pytest.mark.parametrize(("strategy_name", "passes"), [("adios", 2 + 2 * N), ("adios-s", 4)])
def test_train_runs_both_steps_and_counts_encoder_passes(tiny_shapes, strategy_name, passes):
    torch.manual_seed(0)
    objective = build_objective("simclr", build_encoder("resnet-tiny", 32), **HEADS["simclr"])
    strategy = masks.build(strategy_name, image_size=32, n_masks=N, mask_channels=8)
    views = PairedViews(tiny_shapes, AugmentSettings(crop_scale=(0.35, 1.0)), seed=0)
    before = snapshot(strategy)
    result = train(
        objective, strategy, views, epochs=1, batch_size=32, optimizer="adamw", lr=1e-3, weight_decay=1e-4, warmup=0.05
    )
    assert result.state.step == 3 and len(result.state.mask_losses) == 3
    assert all(math.isfinite(x) for x in result.state.losses + result.state.mask_losses)
    assert result.passes_per_image == pytest.approx(passes)  # (clean + K masked) views in each of the two steps
    assert not same(snapshot(strategy), before)
