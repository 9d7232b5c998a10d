"""`ground-truth`: hide exactly one instance id present in each image (the ADIOS oracle ablation)."""

import pytest
import torch

import baselines  # noqa: F401
import masks


def scene(batch: int = 32, size: int = 16) -> torch.Tensor:
    """Background 0, object 1 (a square that moves), object 2 in half of the images, ids 3..4 never present."""
    inst = torch.zeros(batch, size, size, dtype=torch.long)
    for i in range(batch):
        inst[i, i % 8 : i % 8 + 6, 2:8] = 1
        if i % 2:
            inst[i, 10:14, 10:14] = 2
    return inst


def test_hides_exactly_one_present_instance():
    inst = scene()
    m = masks.build("ground-truth")(torch.randn(32, 3, 16, 16), torch.Generator().manual_seed(0), inst)
    assert m.shape == (32, 1, 16, 16)
    chosen = []
    for i in range(32):
        present = inst[i].unique().tolist()
        matches = [k for k in present if torch.equal(m[i, 0], (inst[i] == k).float())]
        assert len(matches) == 1, f"image {i}: the mask is not one whole instance"
        chosen.append(matches[0])
    assert set(chosen) == {0, 1, 2}  # background and both objects all get picked


def test_the_id_is_uniform_among_present_ids():
    inst = scene(2, 16)[1:].expand(3000, -1, -1)  # ids 0, 1, 2 present
    m = masks.build("ground-truth")(torch.randn(3000, 3, 16, 16), torch.Generator().manual_seed(1), inst)
    picked = torch.stack([(m[:, 0] == (inst == k)).all((1, 2)) for k in range(3)], 1)
    assert picked.sum(1).eq(1).all()
    freq = picked.float().mean(0)
    assert torch.all((freq - 1 / 3).abs() < 0.04), freq


def test_needs_instance_maps():
    strategy = masks.build("ground-truth")
    assert strategy.needs_instances and strategy.target_area is None
    with pytest.raises(ValueError, match="ground-truth needs instance maps"):
        strategy(torch.randn(2, 3, 16, 16), torch.Generator())


def test_accepts_small_integer_maps():
    inst = scene(4).to(torch.uint8)
    m = masks.build("ground-truth")(torch.randn(4, 3, 16, 16), torch.Generator().manual_seed(0), inst)
    assert m.dtype == torch.float32 and set(m.unique().tolist()) <= {0.0, 1.0}
