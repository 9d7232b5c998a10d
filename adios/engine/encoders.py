"""Encoders (backbones): an image batch (B, C, H, W) in, global-pooled features (B, D) out.

* ``resnet18``: torchvision's ResNet18 with the small-image stem (3x3 stride-1 conv, no max-pool),
  as in the ADIOS and solo-learn CIFAR/STL setups.
* ``resnet-tiny``: the same stem and BasicBlocks, one block per stage and width 16 (features 128):
  the quick CPU encoder of the embedded benchmark.
* ``vit-tiny``: torchvision's VisionTransformer (dim 192, 12 layers, 3 heads, patch = size/8),
  class-token features.

Batch norms are :class:`ChunkBatchNorm`: inside :func:`chunked`, a batch of K stacked sub-batches is
normalised with each sub-batch's own statistics. So encoding N masked views in one forward gives
exactly the numbers of N separate forwards, as the published per-mask loop computes them. Under
torchrun (:func:`synchronise_batch_norms`) each sub-batch's statistics are those of that sub-batch
on all ranks together, so a rank's slice is normalised as the whole global batch would be.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator

import torch
from torch import Tensor, nn
from torchvision.models import VisionTransformer
from torchvision.models.resnet import BasicBlock, ResNet

from adios.engine.distributed import gather_rows
from adios.errors import UserError
from masks.registry import Registry

#: Encoders by CLI name: a factory ``image_size -> Encoder``. Plugins use the entry-point group ``adios.encoders``.
ENCODERS: Registry = Registry("encoder", "adios.encoders")


class ChunkBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm that, in training, can normalise ``chunks`` equal sub-batches separately.

    When ``synchronised`` (set under torchrun), the statistics of each sub-batch are computed over
    all ranks, with gradients through them, and the running statistics are updated from them as
    BatchNorm updates its own: once per sub-batch, with the unbiased variance.
    """

    chunks: int = 1
    synchronised: bool = False

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.synchronised:
            return self._synchronised_forward(x)
        if self.chunks == 1 or not self.training:
            return super().forward(x)
        return torch.cat([super(ChunkBatchNorm, self).forward(part) for part in x.chunk(self.chunks)])

    def _synchronised_forward(self, x: Tensor) -> Tensor:
        parts = x.float().unflatten(0, (self.chunks, -1))  # (K, n, C, ...): K sub-batches of this rank's n samples
        spatial = [1] * (parts.dim() - 3)
        dims = [1, *range(3, parts.dim())]  # the samples and the spatial positions of each sub-batch and channel

        def per_chunk(stats: Tensor) -> Tensor:  # (K, C) -> (K, 1, C, 1, ...)
            return stats.view(stats.shape[0], 1, -1, *spatial)

        mean = parts.mean(dims)  # (K, C); with the sum of squared deviations, exact two-pass statistics per rank
        m2 = (parts - per_chunk(mean)).square().sum(dims)
        counts = torch.full_like(mean, parts.numel() // (parts.shape[0] * parts.shape[2]))
        # every rank's (count, mean, M2), combined as in Chan et al.'s parallel variance (numerically stable)
        counts, means, m2s = gather_rows(torch.stack([counts, mean, m2])[None]).unbind(1)  # each (ranks, K, C)
        total = counts.sum(0)
        mean = (counts * means).sum(0) / total
        var = (m2s + counts * (means - mean).square()).sum(0) / total  # biased, as BatchNorm normalises
        out = (parts - per_chunk(mean)) * per_chunk(torch.rsqrt(var + self.eps))
        if self.affine:
            out = out * self.weight.float().view(-1, *spatial) + self.bias.float().view(-1, *spatial)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), (var * total / (total - 1).clamp(min=1)).detach())
        return out.flatten(0, 1).to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, means: Tensor, unbiased_vars: Tensor) -> None:
        for mean, var in zip(means, unbiased_vars, strict=True):  # one update per sub-batch, in order, as BatchNorm does
            self.num_batches_tracked += 1
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
            self.running_var.lerp_(var.to(self.running_var.dtype), factor)


class ChunkBatchNorm1d(ChunkBatchNorm, nn.BatchNorm1d):
    pass


class ChunkBatchNorm2d(ChunkBatchNorm, nn.BatchNorm2d):
    pass


@contextlib.contextmanager
def chunked(module: nn.Module, chunks: int) -> Iterator[None]:
    """Within the block, batch norms in ``module`` treat their input as ``chunks`` separate batches."""
    norms = [m for m in module.modules() if isinstance(m, ChunkBatchNorm)]
    before = [m.chunks for m in norms]
    for m in norms:
        m.chunks = chunks
    try:
        yield
    finally:
        for m, c in zip(norms, before, strict=True):
            m.chunks = c


def synchronise_batch_norms(module: nn.Module) -> None:
    """From now on, the batch norms in ``module`` compute their training statistics over all ranks (torchrun)."""
    for m in module.modules():
        if isinstance(m, ChunkBatchNorm):
            m.synchronised = True


class Encoder(nn.Module):
    """A backbone with a known feature size."""

    feature_dim: int

    def __init__(self, body: nn.Module, feature_dim: int) -> None:
        super().__init__()
        self.body = body
        self.feature_dim = feature_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


STEMS = ("small", "imagenet")


def _resnet(layers: list[int], width: int, stem: str = "small") -> nn.Module:
    """torchvision's ResNet with BasicBlocks and base ``width``.

    ``stem="small"``: a 3x3 stride-1 conv and no max-pool (the CIFAR-style stem of solo-learn and the
    ADIOS code on CIFAR); ``"imagenet"``: torchvision's 7x7 stride-2 conv and max-pool (the ADIOS code on
    STL-10 and ImageNet-100).
    """
    if stem not in STEMS:
        raise UserError(f"--stem must be one of {', '.join(STEMS)}; got '{stem}'")
    net = ResNet(BasicBlock, layers, norm_layer=ChunkBatchNorm2d)
    if width != 64:  # torchvision fixes the widths at 64..512; rebuild the stages at another width
        net.inplanes = width
        net.bn1 = ChunkBatchNorm2d(width)
        net.layer1 = net._make_layer(BasicBlock, width, layers[0])
        net.layer2 = net._make_layer(BasicBlock, width * 2, layers[1], stride=2)
        net.layer3 = net._make_layer(BasicBlock, width * 4, layers[2], stride=2)
        net.layer4 = net._make_layer(BasicBlock, width * 8, layers[3], stride=2)
    if stem == "small":
        net.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif width != 64:
        net.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    net.fc = nn.Identity()
    for m in net.modules():  # the init torchvision applies in ResNet.__init__, for the rebuilt layers
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


@ENCODERS.register("resnet18")
def resnet18(image_size: int, stem: str = "small") -> Encoder:
    """ResNet18 (torchvision); the small-image stem unless ``stem="imagenet"`` (as the published STL-10 runs); 512-d features."""
    return Encoder(_resnet([2, 2, 2, 2], 64, stem), 512)


@ENCODERS.register("resnet-tiny")
def resnet_tiny(image_size: int, stem: str = "small") -> Encoder:
    """ResNet with one BasicBlock per stage, width 16, small-image stem; 128-d features (fast on a CPU)."""
    return Encoder(_resnet([1, 1, 1, 1], 16, stem), 128)


class _ViTFeatures(nn.Module):
    def __init__(self, image_size: int, patch_size: int) -> None:
        super().__init__()
        self.vit = VisionTransformer(
            image_size=image_size, patch_size=patch_size, num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768
        )
        self.vit.heads = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.vit(x)


@ENCODERS.register("vit-tiny")
def vit_tiny(image_size: int, patch_size: int | None = None) -> Encoder:
    """ViT-Tiny (torchvision): dim 192, 12 layers, 3 heads, class-token features; patch size/8 unless given (16 as published)."""
    patch = patch_size or image_size // 8
    if patch < 1 or image_size % patch:
        raise UserError(f"vit-tiny needs an image size divisible by its patch size {patch}; got {image_size}")
    return Encoder(_ViTFeatures(image_size, patch), 192)


def build_encoder(name: str, image_size: int, **options: object) -> Encoder:
    """Build an encoder by its CLI name; ``options`` (``stem``, ``patch_size``) go to the encoders that take them."""
    factory = ENCODERS.get(name)
    takes = inspect.signature(factory).parameters
    return factory(image_size, **{k: v for k, v in options.items() if k in takes and v is not None})
