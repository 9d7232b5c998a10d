"""Registry-driven property tests: every registered strategy gets these for free (design.md)."""

import pytest
import torch

import adios  # noqa: F401  (registers the built-ins)
import masks
from masks.apply import apply_masks

STRATEGIES = masks.names()


def instance_maps(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """Synthetic instance maps: a background, one big square object and one small one per image."""
    g = torch.Generator().manual_seed(seed)
    inst = torch.zeros(batch, size, size, dtype=torch.long)
    for i in range(batch):
        s = size // 2 + int(torch.randint(-size // 8, size // 8 + 1, (1,), generator=g))
        x, y = torch.randint(0, size - s + 1, (2,), generator=g).tolist()
        inst[i, y : y + s, x : x + s] = 1
        inst[i, :3, :3] = 2
    return inst


def make(name: str, size: int = 32):
    torch.manual_seed(0)
    return masks.build(name, image_size=size)


def call(strategy, images, seed: int, instances=None):
    g = torch.Generator(device=images.device).manual_seed(seed)
    with torch.no_grad():
        return strategy(images, g, instances)


@pytest.mark.parametrize("size", [32, 64, 96])
@pytest.mark.parametrize("name", STRATEGIES)
def test_shape_range_and_dtype(name, size):
    strategy = make(name, size)
    images = torch.randn(8, 3, size, size)
    strategy.fit(images)
    m = call(strategy, images, 0, instance_maps(8, size))
    assert m.shape == (8, strategy.num_masks, size, size)
    assert m.dtype.is_floating_point
    assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0


@pytest.mark.parametrize("name", STRATEGIES)
def test_same_generator_state_gives_same_masks(name):
    strategy = make(name)
    images = torch.randn(16, 3, 32, 32)
    strategy.fit(images)
    inst = instance_maps(16, 32)
    assert torch.equal(call(strategy, images, 7, inst), call(strategy, images, 7, inst))


@pytest.mark.parametrize("name", STRATEGIES)
def test_masks_stay_on_the_input_device(name):
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    for device in devices:
        strategy = make(name)
        if isinstance(strategy, torch.nn.Module):
            strategy.to(device)
        images = torch.randn(4, 3, 32, 32, device=device)
        strategy.fit(images)
        m = call(strategy, images, 0, instance_maps(4, 32).to(device))
        assert m.device == images.device


@pytest.mark.parametrize("name", STRATEGIES)
def test_mean_hidden_fraction_is_on_target(name):
    strategy = make(name)
    if strategy.target_area is None:
        pytest.skip("this strategy chooses its own area")
    images = torch.randn(256, 3, 32, 32)
    strategy.fit(images)
    m = call(strategy, images, 0, instance_maps(256, 32))
    assert abs(float(m.mean()) - strategy.target_area) <= 0.05


def test_apply_masks_hides_pixels_to_the_mean():
    images = torch.ones(2, 3, 4, 4)
    m = torch.zeros(2, 2, 4, 4)
    m[:, 0, :2] = 1
    m[:, 1, :, :1] = 0.5
    out = apply_masks(images, m)
    assert out.shape == (4, 3, 4, 4)
    assert torch.equal(out[0, :, :2], torch.zeros(3, 2, 4)) and torch.equal(out[0, :, 2:], torch.ones(3, 2, 4))
    assert torch.equal(out[2, :, :, 0], torch.full((3, 4), 0.5))  # mask 1 of image 0 sits at row K*B index 2


def test_unknown_strategy_raises():
    with pytest.raises(masks.UnknownStrategy):
        masks.get("no-such-mask")


def test_build_passes_only_accepted_options():
    strategy = masks.build("random-patch", mask_area=0.25, n_masks=99, image_size=32)
    assert strategy.target_area == 0.25
    assert strategy.options == {"mask_area": 0.25, "cell_size": None}


def test_entry_point_strategies_are_registered(monkeypatch):
    from masks import registry

    class Plugin(masks.MaskStrategy):
        def __call__(self, images, generator, instances=None):
            return torch.zeros(images.shape[0], 1, *images.shape[-2:])

    class FakeEntryPoint:
        name = "plugin-mask"

        def load(self):
            return Plugin

    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "entry_points", lambda group: [FakeEntryPoint()] if group == registry.GROUP else [])
    monkeypatch.setattr(registry, "_STRATEGIES", dict(registry._STRATEGIES))
    assert "plugin-mask" in masks.names()
    assert masks.get("plugin-mask") is Plugin and Plugin.name == "plugin-mask"


def test_learned_strategies_are_recognised_by_parameters():
    class Learned(masks.LearnedStrategy):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

    assert masks.is_learned(Learned())
    assert not masks.is_learned(masks.build("none"))
