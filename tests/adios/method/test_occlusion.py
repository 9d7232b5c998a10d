"""The ADIOS occlusion model against docs/method.md §2: shapes, exact parameter counts, wiring, levels."""

import pytest
import torch
import torch.nn.functional as F

from adios.method.occlusion import OcclusionModel, UNet, num_levels, resolve_blocks

# docs/method.md §2's table, written out again here: (encoder in, encoder out, decoder in, decoder out) in units of c.
TABLE = {
    4: ([0, 1, 2, 2], [1, 2, 2, 2], [4, 4, 4, 2], [2, 2, 1, 1]),
    5: ([0, 1, 1, 2, 2], [1, 1, 2, 2, 2], [4, 4, 4, 2, 2], [2, 2, 1, 1, 1]),
    6: ([0, 1, 1, 1, 2, 2], [1, 1, 1, 2, 2, 2], [4, 4, 4, 2, 2, 2], [2, 2, 1, 1, 1, 1]),
}
LEVELS = {32: 4, 64: 5, 96: 5, 224: 6}


pytestmark = pytest.mark.usefixtures("one_thread")


def expected_parameters(size: int, c: int, n: int, norm: str, blocks: int | None = None) -> int:
    """Count by hand: conv weights (+ bias without a norm) + norm affine + MLP + mask head."""
    levels = LEVELS[size] if blocks is None else blocks
    enc_in, enc_out, dec_in, dec_out = TABLE[levels]
    blocks = [(3 if i == 0 else i * c, o * c) for i, o in zip(enc_in, enc_out, strict=True)]
    blocks += [(i * c, o * c) for i, o in zip(dec_in, dec_out, strict=True)]
    convs = sum(9 * c_in * c_out for c_in, c_out in blocks)
    per_channel = 2 if norm in ("gn", "in") else 1  # norm weight + bias, or the conv's bias
    norms_or_bias = sum(per_channel * c_out for _, c_out in blocks)
    f = size // 2 ** (levels - 1)
    flat = 2 * c * f * f
    mlp = (flat * 128 + 128) + (128 * 128 + 128) + (128 * flat + flat)
    head = c * n + n
    return convs + norms_or_bias + mlp + head


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("norm", ["gn", "in", "no"])
@pytest.mark.parametrize("size", [32, 64, 96])
def test_parameter_counts_match_the_channel_tables(size, norm):
    for c, n in [(32, 6), (16, 4)]:
        assert count(OcclusionModel(size, n, c, norm)) == expected_parameters(size, c, n, norm)


def test_parameter_count_at_32_px_by_hand():
    """c = 32, N = 6, gn, written out: 4 down + 4 up blocks, MLP on 64 x 4 x 4 = 1024 features, 1x1 head."""
    down = 9 * (3 * 32 + 32 * 64 + 64 * 64 + 64 * 64) + 2 * (32 + 64 + 64 + 64)
    up = 9 * (128 * 64 + 128 * 64 + 128 * 32 + 64 * 32) + 2 * (64 + 64 + 32 + 32)
    mlp = 1024 * 128 + 128 + 128 * 128 + 128 + 128 * 1024 + 1024
    head = 32 * 6 + 6
    assert count(OcclusionModel(32, 6, 32, "gn")) == down + up + mlp + head == 576614


@pytest.mark.parametrize("norm", ["gn", "in", "no"])
def test_conv_bias_only_without_norm(norm):
    model = OcclusionModel(32, 6, 8, norm)
    conv = model.unet.down[0][0]
    assert (conv.bias is not None) == (norm == "no")
    kinds = {"gn": torch.nn.GroupNorm, "in": torch.nn.InstanceNorm2d}
    if norm != "no":
        assert isinstance(model.unet.down[0][1], kinds[norm]) and model.unet.down[0][1].affine
    if norm == "gn":
        assert model.unet.down[0][1].num_groups == 8


@pytest.mark.parametrize("size", [32, 64, 96])
def test_output_shapes_and_masks_sum_to_one(size):
    torch.manual_seed(0)
    model = OcclusionModel(size, 5, 8, "gn")
    with torch.no_grad():
        m = model(torch.randn(2, 3, size, size))
    assert m.shape == (2, 5, size, size) and m.dtype == torch.float32
    assert float(m.min()) > 0 and float(m.max()) < 1
    torch.testing.assert_close(m.sum(1), torch.ones(2, size, size))
    assert model.unet(torch.randn(2, 3, size, size)).shape == (2, 8, size, size)


def test_224_px_has_six_levels_and_works():
    model = OcclusionModel(224, 3, 8, "no")
    assert model.unet.levels == 6 and model.unet.bottleneck == 7
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 3, 224, 224)


def test_parameters_are_registered_down_mlp_up_head():
    names = [name for name, _ in OcclusionModel(32, 6, 8, "gn").named_parameters()]
    sections = [name.split(".")[0] if name.startswith("head") else name.split(".")[1] for name in names]
    order = [s for i, s in enumerate(sections) if i == 0 or s != sections[i - 1]]
    assert order == ["down", "mlp", "up", "head"]


@pytest.mark.parametrize(("size", "levels"), [(32, 4), (63, 4), (64, 5), (96, 5), (128, 6), (224, 6), (255, 6)])
def test_levels(size, levels):
    assert num_levels(size) == levels


@pytest.mark.parametrize("size", [8, 16, 31, 256, 512])
def test_unsupported_sizes_raise(size):
    with pytest.raises(ValueError, match="4, 5 or 6 levels"):
        OcclusionModel(size)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="norm"):
        UNet(32, 32, "bn")
    with pytest.raises(ValueError, match="divisible by 8"):
        UNet(32, 12, "gn")
    with pytest.raises(ValueError, match="built for 32x32"):
        OcclusionModel(32, 6, 8)(torch.randn(1, 3, 64, 64))


def reference_forward(model: OcclusionModel, x: torch.Tensor) -> torch.Tensor:
    """The published UNet's forward written out with functional ops on the model's weights (gn)."""

    def block(seq, h):
        conv, norm = seq[0], seq[1]
        h = F.conv2d(h, conv.weight, None, 1, 1)
        return F.relu(F.group_norm(h, 8, norm.weight, norm.bias, norm.eps))

    unet = model.unet
    skips, h = [], x
    for i, seq in enumerate(unet.down):
        h = block(seq, h)
        skips.append(h)
        if i < len(unet.down) - 1:
            h = F.interpolate(h, scale_factor=0.5, mode="nearest", recompute_scale_factor=True)
    lin = [m for m in unet.mlp if isinstance(m, torch.nn.Linear)]
    z = h.flatten(1)
    for layer in lin:
        z = F.relu(layer(z))
    h = z.view(x.shape[0], -1, unet.bottleneck, unet.bottleneck)
    for i, seq in enumerate(unet.up):
        h = block(seq, torch.cat([h, skips[-1 - i]], 1))
        if i < len(unet.up) - 1:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)
    return F.softmax(model.head(h), dim=1)


@pytest.mark.parametrize("size", [32, 96])
def test_forward_matches_the_published_wiring(size):
    torch.manual_seed(1)
    model = OcclusionModel(size, 4, 8, "gn")
    x = torch.randn(2, 3, size, size)
    torch.testing.assert_close(model(x), reference_forward(model, x), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- mask_blocks: the depth chosen apart from the size


def test_four_blocks_at_96_px_by_hand():
    """The published ViT-tiny STL-10 SimSiam run's UNet: 96 px with 4 blocks (c = 32 here, N = 6, gn).

    The same blocks as at 32 px, but the map is halved 3 times only: the MLP works on 64 x 12 x 12 features.
    """
    down = 9 * (3 * 32 + 32 * 64 + 64 * 64 + 64 * 64) + 2 * (32 + 64 + 64 + 64)
    up = 9 * (128 * 64 + 128 * 64 + 128 * 32 + 64 * 32) + 2 * (64 + 64 + 32 + 32)
    flat = 64 * 12 * 12
    mlp = flat * 128 + 128 + 128 * 128 + 128 + 128 * flat + flat
    head = 32 * 6 + 6
    model = OcclusionModel(96, 6, 32, "gn", blocks=4)
    assert model.unet.levels == 4 and model.unet.bottleneck == 12
    assert count(model) == down + up + mlp + head == 2681958
    assert count(model) != count(OcclusionModel(96, 6, 32, "gn"))  # the default rule gives 5 blocks at 96 px


def test_six_blocks_at_64_px_by_hand():
    """64 px with 6 blocks (c = 16, N = 4, no norm: convs with bias): bottleneck 2 x 2."""
    c = 16
    down_io = [(3, c), (c, c), (c, c), (c, 2 * c), (2 * c, 2 * c), (2 * c, 2 * c)]
    up_io = [(4 * c, 2 * c), (4 * c, 2 * c), (4 * c, c), (2 * c, c), (2 * c, c), (2 * c, c)]
    convs = sum(9 * i * o + o for i, o in down_io + up_io)
    flat = 2 * c * 2 * 2
    mlp = flat * 128 + 128 + 128 * 128 + 128 + 128 * flat + flat
    model = OcclusionModel(64, 4, c, "no", blocks=6)
    assert model.unet.bottleneck == 2
    assert count(model) == convs + mlp + c * 4 + 4 == expected_parameters(64, c, 4, "no", blocks=6)


@pytest.mark.parametrize(("size", "blocks"), [(96, 4), (96, 6), (64, 4), (16, 4), (40, 4), (50, 5)])
def test_any_fitting_depth_works(size, blocks):
    torch.manual_seed(0)
    model = OcclusionModel(size, 3, 8, "gn", blocks=blocks)
    with torch.no_grad():
        m = model(torch.randn(2, 3, size, size))
    assert model.unet.levels == blocks and model.unet.bottleneck == size // 2 ** (blocks - 1)
    assert m.shape == (2, 3, size, size)
    torch.testing.assert_close(m.sum(1), torch.ones(2, size, size))


def test_four_blocks_at_96_px_match_the_published_wiring():
    torch.manual_seed(2)
    model = OcclusionModel(96, 4, 8, "gn", blocks=4)
    x = torch.randn(2, 3, 96, 96)
    torch.testing.assert_close(model(x), reference_forward(model, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size", [32, 63, 64, 96, 224])
def test_no_blocks_means_the_default_rule(size):
    assert resolve_blocks(size, None) == num_levels(size) == OcclusionModel(size, 2, 8, "no", blocks=None).unet.levels


@pytest.mark.parametrize(
    ("size", "blocks", "error", "message"),
    [
        (96, 3, ValueError, "mask_blocks 3 has no channel table"),
        (96, 7, ValueError, "mask_blocks 7 has no channel table"),
        (16, 6, ValueError, "mask_blocks 6 does not fit image_size 16"),
        (4, 4, ValueError, "mask_blocks 4 does not fit image_size 4"),
        (96, 4.0, TypeError, "mask_blocks must be an integer"),
        (96, True, TypeError, "mask_blocks must be an integer"),
    ],
)
def test_bad_blocks_raise(size, blocks, error, message):
    with pytest.raises(error, match=message):
        OcclusionModel(size, 3, 8, "gn", blocks=blocks)
