import pytest
import torch

from adios.engine.encoders import ChunkBatchNorm2d, build_encoder, chunked
from adios.errors import UserError


@pytest.mark.parametrize(("name", "dim"), [("resnet-tiny", 128), ("resnet18", 512), ("vit-tiny", 192)])
def test_feature_sizes(name, dim):
    encoder = build_encoder(name, 32).eval()
    with torch.no_grad():
        out = encoder(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, dim) and encoder.feature_dim == dim


@pytest.mark.parametrize("name", ["resnet-tiny", "resnet18"])
def test_small_image_stem(name):
    net = build_encoder(name, 32).body
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1)
    assert isinstance(net.maxpool, torch.nn.Identity)
    x = net.relu(net.bn1(net.conv1(torch.randn(1, 3, 32, 32))))
    assert net.layer1(net.maxpool(x)).shape[-1] == 32  # full resolution in the first stage


def test_vit_patch_is_an_eighth_of_the_image():
    vit = build_encoder("vit-tiny", 64).body.vit
    assert vit.patch_size == 8 and vit.hidden_dim == 192 and len(vit.encoder.layers) == 12
    with pytest.raises(UserError, match="divisible by its patch size 4"):
        build_encoder("vit-tiny", 37)
    assert build_encoder("vit-tiny", 96, patch_size=16).body.vit.patch_size == 16  # the published ViT-Ti/16


def test_the_imagenet_stem_downsamples_by_four():
    """The published STL-10 runs use torchvision's stem (7x7 stride 2, max-pool); the small stem keeps the size."""
    small, imagenet = build_encoder("resnet18", 96), build_encoder("resnet18", 96, stem="imagenet")
    x = torch.randn(2, 3, 96, 96)
    assert small.body.conv1.kernel_size == (3, 3) and imagenet.body.conv1.kernel_size == (7, 7)
    assert small.body.maxpool(small.body.conv1(x)).shape[-1] == 96
    assert imagenet.body.maxpool(imagenet.body.conv1(x)).shape[-1] == 24
    assert imagenet(x).shape == (2, 512)
    with pytest.raises(UserError, match="--stem"):
        build_encoder("resnet18", 96, stem="fancy")


def test_unknown_encoder():
    with pytest.raises(UserError, match="unknown encoder 'resnet50'"):
        build_encoder("resnet50", 32)


def test_chunked_batch_norm_equals_separate_batches():
    torch.manual_seed(0)
    bn, reference = ChunkBatchNorm2d(4), torch.nn.BatchNorm2d(4)
    reference.load_state_dict(bn.state_dict())
    x = torch.randn(3 * 5, 4, 6, 6) + torch.arange(3).repeat_interleave(5).view(-1, 1, 1, 1)  # chunk-specific means
    with chunked(bn, 3):
        out = bn(x)
    expected = torch.cat([reference(part) for part in x.chunk(3)])
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.allclose(bn.running_mean, reference.running_mean) and torch.allclose(bn.running_var, reference.running_var)
    assert bn.chunks == 1  # restored after the block
    whole = torch.nn.BatchNorm2d(4)(x)
    assert not torch.allclose(out, whole, atol=1e-3)  # one batch would normalise differently
