"""The ADIOS occlusion model: a UNet and a mask head (Shi et al., ICML 2022, §3; docs/method.md §2).

    images (B, 3, S, S) --down path--> (B, 2c, f, f) --MLP--> (B, 2c, f, f) --up path--> (B, c, S, S)
                        --1x1 conv--> (B, N, S, S) --softmax over N--> N soft masks that sum to 1

* Conv block: 3x3 conv (stride 1, padding 1), a norm, ReLU. ``gn``: GroupNorm(8 groups, affine),
  ``in``: InstanceNorm2d(affine=True), both after a conv without bias; ``no``: no norm, conv with bias.
* Blocks (levels) L: ``blocks`` if given (4, 5 or 6, the published ``num_blocks``), else the
  published default rule L = floor(log2(S)) - 1, only 4, 5 or 6 (32 px -> 4, 64 -> 5, 96 -> 5,
  224 -> 6). L fits S when the bottleneck map f = S // 2^(L-1) is at least 1 px.
* Down path: every block's output is a skip; the map halves (nearest) after every block but the last.
* Bottleneck: Linear(2c f^2, 128) ReLU Linear(128, 128) ReLU Linear(128, 2c f^2) ReLU, f = S // 2^(L-1).
* Up path: concat(previous output, matching skip), deepest first; the map doubles (nearest) after
  every block but the last, to the size of the next skip (exactly 2x at 32, 64, 96 and 224 px).
* Parameters are registered in the order down blocks, MLP, up blocks, mask head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("gn", "in", "no")
BLOCKS = (4, 5, 6)  # the depths with a channel table
GROUPS = 8  # GroupNorm groups
MLP_HIDDEN = 128


def num_levels(image_size: int) -> int:
    """UNet levels for an image size: floor(log2(size)) - 1; only 4, 5 and 6 are defined (32 to 255 px).

    The published default rule (YugeTen/adios ``simclr_adios.py``, ``byol_adios.py``:
    ``num_blocks=int(np.log2(self.img_size)-1)``).
    """
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer; got {image_size!r}")
    levels = image_size.bit_length() - 2  # floor(log2(size)) - 1, exact for integers
    if levels not in BLOCKS:
        raise ValueError(
            f"the ADIOS UNet is defined for 4, 5 or 6 levels (levels = floor(log2(image_size)) - 1, "
            f"i.e. image sizes 32 to 255 px); image_size {image_size} gives {levels} levels; "
            f"set mask_blocks (4, 5 or 6) to choose the depth yourself"
        )
    return levels


def resolve_blocks(image_size: int, blocks: int | None) -> int:
    """The UNet depth: ``blocks`` checked against the image size, or the default rule when None."""
    if blocks is None:
        return num_levels(image_size)
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer; got {image_size!r}")
    if isinstance(blocks, bool) or not isinstance(blocks, int):
        raise TypeError(f"mask_blocks must be an integer (4, 5 or 6) or None for the default rule; got {blocks!r}")
    if blocks not in BLOCKS:
        raise ValueError(f"mask_blocks {blocks} has no channel table; choose 4, 5 or 6 (or None for the default rule)")
    if image_size // 2 ** (blocks - 1) < 1:
        raise ValueError(
            f"mask_blocks {blocks} does not fit image_size {image_size}: the down path halves the map "
            f"{blocks - 1} times, which needs images of at least {2 ** (blocks - 1)} px; use fewer blocks"
        )
    return blocks


def channel_table(levels: int, c: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """(encoder in, encoder out, decoder in, decoder out) channels per block, docs/method.md §2's table."""
    if levels == 4:
        return [3, c, 2 * c, 2 * c], [c, 2 * c, 2 * c, 2 * c], [4 * c, 4 * c, 4 * c, 2 * c], [2 * c, 2 * c, c, c]
    if levels == 5:
        return (
            [3, c, c, 2 * c, 2 * c],
            [c, c, 2 * c, 2 * c, 2 * c],
            [4 * c, 4 * c, 4 * c, 2 * c, 2 * c],
            [2 * c, 2 * c, c, c, c],
        )
    if levels == 6:
        return (
            [3, c, c, c, 2 * c, 2 * c],
            [c, c, c, 2 * c, 2 * c, 2 * c],
            [4 * c, 4 * c, 4 * c, 2 * c, 2 * c, 2 * c],
            [2 * c, 2 * c, c, c, c, c],
        )
    raise ValueError(f"the ADIOS UNet is defined for 4, 5 or 6 levels; got {levels}")


def conv_block(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    """3x3 conv (stride 1, padding 1) + norm + ReLU; the conv has a bias only without a norm."""
    if norm == "gn":
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.GroupNorm(GROUPS, c_out), nn.ReLU(inplace=True))
    if norm == "in":
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.InstanceNorm2d(c_out, affine=True), nn.ReLU(inplace=True)
        )
    if norm == "no":
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=True), nn.ReLU(inplace=True))
    raise ValueError(f"unknown norm '{norm}'; choose one of: {', '.join(NORMS)}")


def _split_norms(x: Tensor) -> bool:
    """Whether the norms run in the contiguous format while the convolutions stay channels_last.

    Under bf16 autocast on the CPU, GroupNorm's channels_last forward + backward took 4-15x the time of
    the contiguous one (batch 128, 16-32 channels), while the full-resolution convolutions took half the
    time channels_last (the 1x1 head a quarter); a layout copy on each side of the norm costs less than
    either. Elsewhere (CUDA, float32) everything stays channels_last, as before.
    """
    return x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


class _Reformat(torch.autograd.Function):
    """``x`` in memory format ``forward_format``, its gradient returned in ``backward_format``.

    A plain ``.contiguous()`` passes the gradient through in whatever layout it arrives, so the
    backward of the op before it would mix layouts (channels_last gradient, contiguous saved
    tensors), which sends elementwise kernels down their slow strided path. The values are unchanged.
    """

    @staticmethod
    def forward(ctx, x: Tensor, forward_format: torch.memory_format, backward_format: torch.memory_format) -> Tensor:
        ctx.backward_format = backward_format
        return x.contiguous(memory_format=forward_format)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        return grad.contiguous(memory_format=ctx.backward_format), None, None


def _run_block(block: nn.Sequential, x: Tensor, split_norms: bool) -> Tensor:
    """One conv block on a channels_last ``x``: the convolution channels_last, its norm and ReLU
    contiguous when ``split_norms`` (converted back to channels_last after), else all channels_last."""
    if not split_norms or len(block) == 2:  # no norm: conv with bias + ReLU, nothing to split
        return block(x)
    conv, norm, relu = block
    y = _Reformat.apply(conv(x), torch.contiguous_format, torch.channels_last)
    return _Reformat.apply(relu(norm(y)), torch.channels_last, torch.contiguous_format)


class UNet(nn.Module):
    """The ADIOS UNet (genesis-style, as in the published code): images (B, 3, S, S) -> features (B, c, S, S).

    ``blocks``: the depth (4, 5 or 6; the published ``num_blocks``), or None for floor(log2(S)) - 1.
    """

    def __init__(self, image_size: int = 32, channels: int = 32, norm: str = "gn", blocks: int | None = None) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown norm '{norm}'; choose one of: {', '.join(NORMS)}")
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"the UNet's base channels must be a positive integer; got {channels!r}")
        if norm == "gn" and channels % GROUPS:
            raise ValueError(f"GroupNorm with {GROUPS} groups needs base channels divisible by {GROUPS}; got {channels}")
        self.image_size = image_size
        self.levels = resolve_blocks(image_size, blocks)
        self.channels = channels
        self.bottleneck = image_size // 2 ** (self.levels - 1)  # f
        enc_in, enc_out, dec_in, dec_out = channel_table(self.levels, channels)
        self.down = nn.ModuleList(conv_block(i, o, norm) for i, o in zip(enc_in, enc_out, strict=True))
        flat = 2 * channels * self.bottleneck**2
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, MLP_HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(MLP_HIDDEN, MLP_HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(MLP_HIDDEN, flat),
            nn.ReLU(inplace=True),
        )
        self.up = nn.ModuleList(conv_block(i, o, norm) for i, o in zip(dec_in, dec_out, strict=True))

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, S, S) -> (B, c, S, S)."""
        if x.dim() != 4 or tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(
                f"the occlusion model was built for {self.image_size}x{self.image_size} images; got shape {tuple(x.shape)}"
            )
        split = _split_norms(x)
        if torch.is_autocast_enabled(x.device.type) and x.dtype in (torch.float32, torch.float16, torch.bfloat16):
            # The cast autocast makes in the first convolution, done together with the layout change.
            x = x.to(dtype=torch.get_autocast_dtype(x.device.type), memory_format=torch.channels_last)
        else:
            x = x.contiguous(memory_format=torch.channels_last)
        skips = []
        for i, block in enumerate(self.down):
            x = _run_block(block, x, split)
            skips.append(x)
            if i < self.levels - 1:
                x = F.interpolate(x, size=(x.shape[-2] // 2, x.shape[-1] // 2), mode="nearest")
        f = self.bottleneck
        x = self.mlp(x).view(x.shape[0], 2 * self.channels, f, f).contiguous(memory_format=torch.channels_last)
        for i, block in enumerate(self.up):
            x = _run_block(block, torch.cat([x, skips[-1 - i]], dim=1), split)
            if i < self.levels - 1:
                x = F.interpolate(x, size=skips[-2 - i].shape[-2:], mode="nearest")
        return x


class OcclusionModel(nn.Module):
    """UNet + mask head (1x1 conv c -> N, softmax over N): images (B, 3, S, S) -> soft masks (B, N, S, S).

    ``blocks``: the UNet depth (4, 5 or 6), or None for the default rule floor(log2(S)) - 1.
    """

    def __init__(
        self, image_size: int = 32, n_masks: int = 6, channels: int = 32, norm: str = "gn", blocks: int | None = None
    ) -> None:
        super().__init__()
        if not isinstance(n_masks, int) or n_masks < 1:
            raise ValueError(f"the number of masks N must be a positive integer; got {n_masks!r}")
        self.unet = UNet(image_size, channels, norm, blocks)
        self.head = nn.Conv2d(channels, n_masks, kernel_size=1)
        self.n_masks = n_masks

    def forward(self, images: Tensor) -> Tensor:
        """Soft masks (B, N, S, S) in float32 (float64 for float64 models); they sum to 1 over N at every pixel."""
        logits = self.head(self.unet(images))
        return logits.to(torch.promote_types(logits.dtype, torch.float32)).softmax(dim=1).contiguous()
