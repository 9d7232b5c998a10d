"""SimSiam (Chen & He, CVPR 2021): both views are masked, each with masks computed from itself.

Per mask k, the loss averages the four terms that pair a masked view with an unmasked one,
D(p(a_k), z(b)), D(p(b_k), z(a)), D(p(b), z(a_k)) and D(p(a), z(b_k)), with D = -cos(p, stopgrad(z)),
as the ADIOS code's default SimSiam objective does for its masked terms. With empty masks this is
plain SimSiam.
"""

from __future__ import annotations

from torch import Tensor

from adios.engine.encoders import Encoder, chunked
from adios.engine.objectives.base import OBJECTIVES, Objective, cosine, mlp
from masks.apply import apply_masks


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """-cos(p, stopgrad(z)), averaged over the batch."""
    return -cosine(p, z.detach()).mean(-1)


@OBJECTIVES.register("simsiam")
class SimSiam(Objective):
    """Projector of three layers (last BN without affine) and a bottleneck predictor."""

    masks_both_views = True

    def __init__(self, encoder: Encoder, proj_hidden: int = 2048, proj_out: int = 2048, pred_hidden: int = 512) -> None:
        super().__init__(encoder)
        self.projector = mlp([encoder.feature_dim, proj_hidden, proj_hidden, proj_out], hidden_bias=False, norm_last=True)
        self.predictor = mlp([proj_out, pred_hidden, proj_out], hidden_bias=False)

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
        terms = (
            negative_cosine(p_ak, z_b.unsqueeze(0))
            + negative_cosine(p_bk, z_a.unsqueeze(0))
            + negative_cosine(p_b.unsqueeze(0), z_ak)
            + negative_cosine(p_a.unsqueeze(0), z_bk)
        )
        return (terms / 4).sum()
