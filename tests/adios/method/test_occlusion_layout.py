"""The occlusion model's memory layouts (issue 14) compute what the implementation before them computed.

``reference_forward`` is a copy of ``OcclusionModel.forward`` as it was before the change: every
tensor channels_last, except under bf16 autocast on the CPU, where every tensor was contiguous. Now
the convolutions always run channels_last and, under CPU bf16 autocast only, the norms and ReLUs run
contiguous between two layout copies, and the input is cast to bf16 with its layout change.

In float32 and float64 both implementations take the same path, so the numbers are equal. Under
bf16 autocast the convolutions round differently in the two layouts, so the check is relative to
bf16 itself: the two implementations differ by much less than either differs from float32, and the
new one is no further from float32 than the old one.
"""

import copy

import pytest
import torch
import torch.nn.functional as F

from adios.method.occlusion import OcclusionModel, _Reformat

pytestmark = pytest.mark.usefixtures("one_thread")


def _old_memory_format(x: torch.Tensor) -> torch.memory_format:
    cpu_bf16 = x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    return torch.contiguous_format if cpu_bf16 else torch.channels_last


def reference_forward(model: OcclusionModel, images: torch.Tensor) -> torch.Tensor:
    """``OcclusionModel.forward`` before issue 14, on the same modules."""
    unet = model.unet
    memory_format = _old_memory_format(images)
    x = images.contiguous(memory_format=memory_format)
    skips = []
    for i, block in enumerate(unet.down):
        x = block(x)
        skips.append(x)
        if i < unet.levels - 1:
            x = F.interpolate(x, size=(x.shape[-2] // 2, x.shape[-1] // 2), mode="nearest")
    f = unet.bottleneck
    x = unet.mlp(x).view(x.shape[0], 2 * unet.channels, f, f).contiguous(memory_format=memory_format)
    for i, block in enumerate(unet.up):
        x = block(torch.cat([x, skips[-1 - i]], dim=1))
        if i < unet.levels - 1:
            x = F.interpolate(x, size=skips[-2 - i].shape[-2:], mode="nearest")
    logits = model.head(x)
    return logits.to(torch.promote_types(logits.dtype, torch.float32)).softmax(dim=1).contiguous()


def outputs_and_gradients(model, forward, images, weights, bf16: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Slots and the parameter gradients of sum(slots * weights)."""
    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        slots = forward(images)
    (slots * weights).sum().backward()
    return slots.detach(), [p.grad.clone() for p in model.parameters()]


def relative(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Largest relative difference, parameter by parameter, in norm."""
    return max(float((x - y).norm() / y.norm().clamp_min(1e-30)) for x, y in zip(a, b, strict=True))


CASES = [(32, 16, 4, "gn"), (32, 8, 3, "in"), (32, 8, 3, "no"), (64, 8, 4, "gn"), (96, 8, 4, "gn")]


@pytest.mark.parametrize(("size", "c", "n", "norm"), CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_full_precision_is_unchanged(size, c, n, norm, dtype):
    torch.manual_seed(0)
    model = OcclusionModel(size, n, c, norm).to(dtype)
    images = torch.randn(4, 3, size, size, dtype=dtype)
    weights = torch.randn(4, n, size, size, dtype=dtype)
    new, new_grads = outputs_and_gradients(model, model, images, weights, bf16=False)
    old, old_grads = outputs_and_gradients(model, lambda x: reference_forward(model, x), images, weights, bf16=False)
    assert new.dtype == old.dtype and new.is_contiguous()
    torch.testing.assert_close(new, old, rtol=0, atol=0)
    for a, b in zip(new_grads, old_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6 if dtype == torch.float32 else 1e-12, atol=0)


@pytest.mark.parametrize(("size", "c", "n", "norm"), CASES)
def test_bf16_autocast_is_unchanged_to_bf16_rounding(size, c, n, norm):
    torch.manual_seed(1)
    model = OcclusionModel(size, n, c, norm)
    images = torch.randn(8, 3, size, size)
    weights = torch.randn(8, n, size, size)
    new, new_grads = outputs_and_gradients(model, model, images, weights, bf16=True)
    old, old_grads = outputs_and_gradients(model, lambda x: reference_forward(model, x), images, weights, bf16=True)
    exact, exact_grads = outputs_and_gradients(model, lambda x: reference_forward(model, x), images, weights, bf16=False)
    assert new.dtype == torch.float32 and new.is_contiguous()
    torch.testing.assert_close(new.sum(1), torch.ones_like(new[:, 0]))
    # The slots: within bf16 rounding of the old ones (bf16 keeps 8 significant bits: steps of 2^-8 = 0.004 near 1).
    torch.testing.assert_close(new, old, rtol=0, atol=0.01)
    assert float((new - exact).abs().max()) <= 1.5 * float((old - exact).abs().max()) + 1e-3
    # The gradients: the two layouts differ by far less than bf16 differs from float32, and the new
    # layout is no further from float32 than the old one.
    assert relative(new_grads, old_grads) < 0.05
    assert relative(new_grads, old_grads) < 0.25 * relative(old_grads, exact_grads)
    assert relative(new_grads, exact_grads) <= 1.25 * relative(old_grads, exact_grads)


def test_bf16_input_under_autocast_gives_the_same_slots_as_float32_input():
    """The input is cast to bf16 in the model, as autocast's first convolution would cast it."""
    torch.manual_seed(2)
    model = OcclusionModel(32, 4, 8, "gn")
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(model(images), model(images.bfloat16()), rtol=0, atol=0)


def test_reformat_keeps_values_and_returns_the_gradient_in_the_asked_layout():
    x = torch.randn(2, 16, 5, 5).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = _Reformat.apply(x, torch.contiguous_format, torch.channels_last)
    assert y.is_contiguous() and not x.is_contiguous()
    torch.testing.assert_close(y, x.detach(), rtol=0, atol=0)
    grad = torch.randn(2, 16, 5, 5)  # contiguous, as the norm's backward returns it
    y.backward(grad)
    assert x.grad.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(x.grad, grad, rtol=0, atol=0)


def test_the_mask_step_gradients_match_through_the_strategy():
    """The occlusion model's gradients of a whole ADIOS-s mask step (propose, draw, penalty) match the old forward's."""
    import masks

    torch.manual_seed(3)
    strategy = masks.build("adios-s", image_size=32, n_masks=4, mask_channels=16)
    old_strategy = copy.deepcopy(strategy)
    old_strategy.occlusion.forward = lambda x: reference_forward(old_strategy.occlusion, x)
    images = torch.randn(8, 3, 32, 32)
    target = torch.randn(8, 3, 32, 32)
    grads = []
    for s in (strategy, old_strategy):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            slots = s.propose(images)
            chosen = s.draw(slots, torch.Generator().manual_seed(0))
            loss = -((images * (1 - chosen) - target) ** 2).mean() + s.alpha * s.penalty(slots)
        loss.backward()
        grads.append([p.grad.clone() for p in s.parameters()])
    assert relative(grads[0], grads[1]) < 0.1
