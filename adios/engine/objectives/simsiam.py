"""SimSiam (Chen & He, CVPR 2021) with masks on both views, each computed from its own view.

With D(p, z) = -cos(p, stopgrad(z)), clean views a, b and their masked views a_k, b_k, the loss of
mask k is the mean of the enabled terms (docs/method.md §4), as in the published SimSiam-ADIOS code
(YugeTen/adios ``src/methods/simsiam_adios.py``, ``inpaint_forward`` and ``mask_forward``):

* always:          D(p(a_k), z(b)), D(p(b_k), z(a))   (a masked view predicts the other clean view)
* ``masked``:      D(p(b), z(a_k)), D(p(a), z(b_k))   (``use_symmetry_mask``: the masked views as targets too)
* ``clean``:       D(p(a), z(b)),   D(p(b), z(a))     (``use_no_mask``: the plain SimSiam pair)
* ``both-masked``: D(p(a_k), z(b_k)), D(p(b_k), z(a_k)) (``use_both_mask``)

and the objective is the sum over the K masks of these per-mask means (so the ``clean`` pair, the
same for every k, counts K times, as the published loop recomputes it for every mask). ``terms``
names the optional pairs. The published code's default (its argparse) switches all three on; its
STL-10 scripts use ``("clean",)`` (ResNet18) and ``("masked",)`` (ViT-tiny). Before the option
existed, adios always used ``("masked",)``, whose four-term mean this module still reproduces bit
for bit. ``terms=()`` is the published code with all three switches off. With empty masks every
set gives plain SimSiam.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor

from adios.engine.encoders import Encoder, chunked
from adios.engine.objectives.base import OBJECTIVES, Objective, cosine, mlp
from masks.apply import apply_masks

#: The optional term pairs, in the order they enter the mean (the published code's order).
TERMS = ("masked", "clean", "both-masked")
#: The published code's default: all three switches on (simsiam_adios.py, add_model_specific_args).
PUBLISHED_DEFAULT_TERMS = TERMS


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """-cos(p, stopgrad(z)), averaged over the batch."""
    return -cosine(p, z.detach()).mean(-1)


def check_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """``terms`` as a tuple in the canonical order; TypeError / ValueError with the fix for a bad one."""
    if isinstance(terms, str) or not isinstance(terms, Iterable):
        raise TypeError(f"terms must be a collection of term names (any of {', '.join(TERMS)}), e.g. ('clean',); got {terms!r}")
    given = list(terms)
    unknown = [t for t in given if t not in TERMS]
    if unknown:
        raise ValueError(f"unknown SimSiam term {unknown[0]!r} in terms; choose any of: {', '.join(TERMS)}")
    if len(set(given)) != len(given):
        raise ValueError(f"terms lists a SimSiam term twice: {given!r}")
    return tuple(t for t in TERMS if t in given)


@OBJECTIVES.register("simsiam")
class SimSiam(Objective):
    """Projector of three layers (last BN without affine) and a bottleneck predictor; ``terms`` as above."""

    masks_both_views = True

    def __init__(
        self,
        encoder: Encoder,
        proj_hidden: int = 2048,
        proj_out: int = 2048,
        pred_hidden: int = 512,
        terms: Iterable[str] = PUBLISHED_DEFAULT_TERMS,
        fixed_predictor_lr: bool = False,
    ) -> None:
        super().__init__(encoder)
        self.terms = check_terms(terms)
        self.fixed_predictor_lr = fixed_predictor_lr
        self.projector = mlp([encoder.feature_dim, proj_hidden, proj_hidden, proj_out], hidden_bias=False, norm_last=True)
        self.predictor = mlp([proj_out, pred_hidden, proj_out], hidden_bias=False)

    def fixed_lr_parameters(self) -> list:
        """The predictor keeps a constant learning rate when ``fixed_predictor_lr`` (Chen & He 2021, §4.4)."""
        return list(self.predictor.parameters()) if self.fixed_predictor_lr else []

    def _zp(self, x: Tensor, chunks: int) -> tuple[Tensor, Tensor]:
        z = self.embed(self.projector, x, chunks)
        with chunked(self, chunks):
            return z, self.predictor(z)

    def loss(self, a: Tensor, b: Tensor, masks_b: Tensor, masks_a: Tensor | None = None) -> Tensor:
        if masks_a is None:
            raise ValueError("SimSiam masks both views: pass masks_a")
        k, n = masks_b.shape[1], a.shape[0]
        z_a, p_a = self._zp(a, 1)
        z_b, p_b = self._zp(b, 1)
        z_ak, p_ak = (t.view(k, n, -1) for t in self._zp(apply_masks(a, masks_a), k))
        z_bk, p_bk = (t.view(k, n, -1) for t in self._zp(apply_masks(b, masks_b), k))
        # Each term is (K,) (one value per mask) or a scalar (the clean pair, the same for every mask).
        terms = [negative_cosine(p_ak, z_b.unsqueeze(0)), negative_cosine(p_bk, z_a.unsqueeze(0))]
        if "masked" in self.terms:
            terms += [negative_cosine(p_b.unsqueeze(0), z_ak), negative_cosine(p_a.unsqueeze(0), z_bk)]
        if "clean" in self.terms:
            terms += [negative_cosine(p_a, z_b), negative_cosine(p_b, z_a)]
        if "both-masked" in self.terms:
            terms += [negative_cosine(p_ak, z_bk), negative_cosine(p_bk, z_ak)]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return (total / len(terms)).sum()
