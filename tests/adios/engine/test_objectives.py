import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from adios.engine.encoders import build_encoder
from adios.engine.objectives import build_objective
from adios.engine.objectives.byol import byol_regression
from adios.engine.objectives.simclr import nt_xent
from adios.engine.objectives.simsiam import PUBLISHED_DEFAULT_TERMS, SimSiam, negative_cosine


def nt_xent_reference(z1: torch.Tensor, z2: torch.Tensor, t: float) -> float:
    """NT-Xent written out term by term (SimCLR, eq. 1), averaged over all 2B anchors."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    n = z.shape[0]
    b = n // 2
    total = 0.0
    for i in range(n):
        j = (i + b) % n
        denominator = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(n) if k != i)
        total += -math.log(math.exp(float(z[i] @ z[j]) / t) / denominator)
    return total / n


def test_nt_xent_matches_hand_computation():
    torch.manual_seed(0)
    z1, z2 = torch.randn(5, 4), torch.randn(5, 4)
    assert float(nt_xent(z1, z2.unsqueeze(0), 0.5)) == pytest.approx(nt_xent_reference(z1, z2, 0.5), rel=1e-5)


def test_nt_xent_sums_over_masked_views():
    torch.manual_seed(1)
    z1, z2 = torch.randn(6, 8), torch.randn(3, 6, 8)
    expected = sum(nt_xent_reference(z1, z2[k], 0.2) for k in range(3))
    assert float(nt_xent(z1, z2, 0.2)) == pytest.approx(expected, rel=1e-5)


def test_nt_xent_is_minimal_for_matching_views():
    torch.manual_seed(2)
    z = torch.randn(8, 16)
    assert float(nt_xent(z, z.unsqueeze(0), 0.1)) < float(nt_xent(z, torch.randn(1, 8, 16), 0.1))


def test_byol_regression_is_two_minus_two_cosine():
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[1.0, 1.0], [0.0, -1.0]])
    expected = ((2 - 2 / math.sqrt(2)) + (2 + 2)) / 2
    assert float(byol_regression(p, z)) == pytest.approx(expected)


def test_negative_cosine():
    p = torch.tensor([[3.0, 4.0]])
    z = torch.tensor([[4.0, 3.0]])
    assert float(negative_cosine(p, z)) == pytest.approx(-24 / 25)


def test_stop_gradient_on_targets():
    p = torch.randn(4, 3, requires_grad=True)
    z = torch.randn(4, 3, requires_grad=True)
    (byol_regression(p, z) + negative_cosine(p, z)).backward()
    assert z.grad is None and p.grad is not None


def _model(name: str, seed: int = 0):
    torch.manual_seed(seed)
    encoder = build_encoder("resnet-tiny", 16)
    return build_objective(name, encoder, proj_hidden=32, proj_out=16, **({} if name == "simclr" else {"pred_hidden": 16}))


@pytest.mark.parametrize("name", ["simclr", "byol", "simsiam"])
def test_batched_masked_views_equal_a_loop_over_masks(name):
    """One forward over K stacked masked views (per-view batch norm) == the sum of K single-mask losses."""
    torch.manual_seed(3)
    a, b = torch.randn(6, 3, 16, 16), torch.randn(6, 3, 16, 16)
    masks_b = (torch.rand(6, 3, 16, 16) > 0.5).float()
    masks_a = (torch.rand(6, 3, 16, 16) > 0.5).float()
    model = _model(name).train()
    batched = model.loss(a, b, masks_b, masks_a)
    looped = sum(model.loss(a, b, masks_b[:, k : k + 1], masks_a[:, k : k + 1]) for k in range(3))
    assert batched.item() == pytest.approx(looped.item(), rel=1e-4, abs=1e-5)


@torch.no_grad()
def plain_objective(name: str, model, a: torch.Tensor, b: torch.Tensor) -> float:
    """The objective without masks, written from the papers' formulas."""
    if name == "simclr":
        z_a, z_b = model.projector(model.encoder(a)), model.projector(model.encoder(b))
        return nt_xent_reference(z_a, z_b, model.temperature)
    if name == "byol":
        p_a = model.predictor(model.projector(model.encoder(a)))
        p_b = model.predictor(model.projector(model.encoder(b)))
        t_a = model.target_projector(model.target_encoder(a))
        t_b = model.target_projector(model.target_encoder(b))
        return float((2 - 2 * F.cosine_similarity(p_a, t_b)).mean() + (2 - 2 * F.cosine_similarity(p_b, t_a)).mean())
    z_a, z_b = model.projector(model.encoder(a)), model.projector(model.encoder(b))
    p_a, p_b = model.predictor(z_a), model.predictor(z_b)
    return float(-0.5 * (F.cosine_similarity(p_a, z_b).mean() + F.cosine_similarity(p_b, z_a).mean()))


@pytest.mark.parametrize("name", ["simclr", "byol", "simsiam"])
def test_empty_masks_give_the_plain_objective(name):
    torch.manual_seed(4)
    a, b = torch.randn(6, 3, 16, 16), torch.randn(6, 3, 16, 16)
    model = _model(name).train()
    zeros = torch.zeros(6, 1, 16, 16)
    loss = model.loss(a, b, zeros, zeros)
    assert loss.item() == pytest.approx(plain_objective(name, model, a, b), rel=1e-4, abs=1e-5)


def test_byol_target_starts_equal_and_follows_ema():
    model = _model("byol")
    for p, q in zip(model.encoder.parameters(), model.target_encoder.parameters(), strict=True):
        assert torch.equal(p, q) and not q.requires_grad
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    before = [q.clone() for q in model.target_encoder.parameters()]
    model.after_step(progress=0.5)
    for p, q, q0 in zip(model.encoder.parameters(), model.target_encoder.parameters(), before, strict=True):
        assert torch.allclose(q, 0.99 * q0 + 0.01 * p)
    assert model.momentum == pytest.approx(1 - 0.01 * (math.cos(math.pi * 0.5) + 1) / 2)


# ---------------------------------------------------------------- SimSiam's terms (docs/method.md §4)

TERM_SETS = [tuple(c) for r in range(4) for c in itertools.combinations(("masked", "clean", "both-masked"), r)]


def d(p: torch.Tensor, z: torch.Tensor) -> float:
    """D(p, z) = -cos(p, z), averaged over the batch, in float64 from the rows."""
    p, z = p.double(), z.double()
    return float(-(p * z).sum(1).div(p.norm(dim=1) * z.norm(dim=1)).mean())


@torch.no_grad()
def simsiam_reference(model, a, b, masks_b, masks_a, terms) -> float:
    """The published SimSiam-ADIOS loss as a loop over masks (simsiam_adios.py, inpaint_forward):
    per mask, the list of enabled terms, its mean; then the sum over masks."""
    enc, proj, pred = model.encoder, model.projector, model.predictor
    total = 0.0
    for k in range(masks_b.shape[1]):
        z1, z2 = proj(enc(a)), proj(enc(b))
        z1m, z2m = proj(enc(a * (1 - masks_a[:, k : k + 1]))), proj(enc(b * (1 - masks_b[:, k : k + 1])))
        p1, p2, p1m, p2m = pred(z1), pred(z2), pred(z1m), pred(z2m)
        loss = [d(p1m, z2), d(p2m, z1)]
        if "masked" in terms:  # use_symmetry_mask
            loss += [d(p2, z1m), d(p1, z2m)]
        if "clean" in terms:  # use_no_mask
            loss += [d(p1, z2), d(p2, z1)]
        if "both-masked" in terms:  # use_both_mask
            loss += [d(p1m, z2m), d(p2m, z1m)]
        total += sum(loss) / len(loss)
    return total


@torch.no_grad()
def four_term_average(model, a, b, masks_b, masks_a) -> torch.Tensor:
    """adios's SimSiam loss before ``terms`` existed, copied verbatim: the four masked/clean pairings over 4."""
    k, n = masks_b.shape[1], a.shape[0]
    z_a, p_a = model._zp(a, 1)
    z_b, p_b = model._zp(b, 1)
    z_ak, p_ak = (t.view(k, n, -1) for t in model._zp(torch.cat([a * (1 - masks_a[:, i : i + 1]) for i in range(k)]), k))
    z_bk, p_bk = (t.view(k, n, -1) for t in model._zp(torch.cat([b * (1 - masks_b[:, i : i + 1]) for i in range(k)]), k))
    terms = (
        negative_cosine(p_ak, z_b.unsqueeze(0))
        + negative_cosine(p_bk, z_a.unsqueeze(0))
        + negative_cosine(p_b.unsqueeze(0), z_ak)
        + negative_cosine(p_a.unsqueeze(0), z_bk)
    )
    return (terms / 4).sum()


def _simsiam_batch(terms, seed: int = 5):
    torch.manual_seed(seed)
    model = SimSiam(build_encoder("resnet-tiny", 16), proj_hidden=32, proj_out=16, pred_hidden=8, terms=terms).train()
    a, b = torch.randn(6, 3, 16, 16), torch.randn(6, 3, 16, 16)
    masks_b, masks_a = torch.rand(6, 3, 16, 16), torch.rand(6, 3, 16, 16)  # soft masks, K = 3
    return model, a, b, masks_b, masks_a


@pytest.mark.parametrize("terms", TERM_SETS, ids=lambda t: "+".join(t) or "base-only")
def test_simsiam_terms_match_the_published_loop(terms):
    model, a, b, masks_b, masks_a = _simsiam_batch(terms)
    expected = simsiam_reference(model, a, b, masks_b, masks_a, terms)
    with torch.no_grad():
        assert float(model.loss(a, b, masks_b, masks_a)) == pytest.approx(expected, rel=1e-5, abs=1e-6)
        before = float(four_term_average(model, a, b, masks_b, masks_a))
    if terms != ("masked",):  # the reference tells these sets apart from adios's former four-term average
        assert abs(before - expected) > 1e-3


def test_the_masked_set_reproduces_the_former_four_term_average_bit_for_bit():
    model, a, b, masks_b, masks_a = _simsiam_batch(("masked",))
    with torch.no_grad():
        assert torch.equal(model.loss(a, b, masks_b, masks_a), four_term_average(model, a, b, masks_b, masks_a))


def test_simsiam_default_terms_are_the_published_code_default():
    assert PUBLISHED_DEFAULT_TERMS == ("masked", "clean", "both-masked")
    assert _model("simsiam").terms == PUBLISHED_DEFAULT_TERMS
    assert SimSiam(build_encoder("resnet-tiny", 16), 32, 16, 8, terms=["both-masked", "clean"]).terms == ("clean", "both-masked")


@pytest.mark.parametrize(
    ("terms", "error", "message"),
    [
        ("clean", TypeError, "collection of term names"),
        (3, TypeError, "collection of term names"),
        (("clean", "none"), ValueError, "unknown SimSiam term 'none'"),
        (("clean", "clean"), ValueError, "twice"),
    ],
)
def test_bad_simsiam_terms(terms, error, message):
    with pytest.raises(error, match=message):
        SimSiam(build_encoder("resnet-tiny", 16), 32, 16, 8, terms=terms)
