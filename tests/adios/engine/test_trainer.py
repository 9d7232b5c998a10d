"""The trainer: learning-curve points, step budgets, counted passes, divergence and safe checkpoints."""

import math

import pytest
import torch

import masks
from adios.engine.encoders import build_encoder
from adios.engine.objectives import build_objective
from adios.engine.trainer import Diverged, Schedule, passes_per_image, train
from adios.engine.views import AugmentSettings, PairedViews
from adios.errors import UserError

BUDGET = dict(batch_size=32, optimizer="adamw", lr=1e-3, weight_decay=1e-4, warmup=0.05)


def models(objective: str = "simclr", seed: int = 0):
    torch.manual_seed(seed)
    heads = {"simclr": {"proj_hidden": 32, "proj_out": 16}, "byol": {"proj_hidden": 32, "proj_out": 16, "pred_hidden": 32}}
    heads["simsiam"] = {**heads["byol"], "terms": ("masked",)}
    return build_objective(objective, build_encoder("resnet-tiny", 32), **heads[objective])


def views(data, seed: int = 0) -> PairedViews:
    return PairedViews(data, AugmentSettings(crop_scale=(0.35, 1.0)), seed=seed)


def weights(module):
    return [p.detach().clone() for p in module.parameters()]


def test_the_curve_is_recorded_and_changes_nothing_else(tiny_shapes, one_thread):
    """Curve points at 0, every E epochs and the end; the weights come out as without a curve (no-op on training)."""
    calls = []

    def evaluate(objective):
        calls.append(objective.training)
        return {"knn_acc": 0.5}

    strategy = masks.build("random-patch", mask_area=0.25)
    plain = models()
    train(plain, strategy, views(tiny_shapes), epochs=3, **BUDGET)
    curved = models()
    result = train(curved, strategy, views(tiny_shapes), epochs=3, evaluate=evaluate, eval_every=2, **BUDGET)
    points = result.state.curve
    assert [p["step"] for p in points] == [0, 6, 9] and [p["epoch"] for p in points] == [0.0, 2.0, 3.0]
    assert [p["encoder_passes"] for p in points] == [0, 6 * 32 * 2, 9 * 32 * 2]  # eval passes are not counted
    assert all(p["knn_acc"] == 0.5 for p in points) and len(calls) == 3
    assert all(torch.equal(a, b) for a, b in zip(weights(plain), weights(curved), strict=True))
    assert result.passes_per_image == 2.0


def test_steps_override_the_epochs_and_keep_the_batch_order(tiny_shapes, one_thread):
    schedule = Schedule.of(views(tiny_shapes), 32, epochs=2)
    shorter = Schedule.of(views(tiny_shapes), 32, epochs=2, steps=4)
    assert schedule.total == 6 and shorter.total == 4
    assert all(torch.equal(schedule.indices(k), shorter.indices(k)) for k in range(4))
    result = train(models(), masks.build("none"), views(tiny_shapes), epochs=2, steps=4, **BUDGET)
    assert result.state.step == 4


@pytest.mark.parametrize(
    ("objective", "strategy", "expected"),
    [
        ("simclr", "none", 2),
        ("simclr", "adios-s", 4),  # (a + 1 masked) in each of the two steps
        ("simclr", "adios", 2 * 3 + 2),  # N = 3 masked views: 2N + 2
        ("byol", "none", 4),  # online and target, both views
        ("simsiam", "random-patch", 4),  # clean and masked, both views
    ],
)
def test_passes_are_counted_on_copies(tiny_shapes, one_thread, objective, strategy, expected):
    obj = models(objective)
    mask = masks.build(strategy, image_size=32, n_masks=3, mask_channels=8, mask_area=0.25)
    before = weights(obj)
    assert passes_per_image(obj, mask, views(tiny_shapes)) == expected
    assert all(torch.equal(a, b) for a, b in zip(before, weights(obj), strict=True))  # the real models are untouched


def test_a_nan_loss_stops_the_run_with_its_step(tiny_shapes, one_thread):
    objective = models()
    with pytest.raises(Diverged, match=r"(NaN|infinite) loss at step \d+"):
        train(objective, masks.build("none"), views(tiny_shapes), epochs=3, **{**BUDGET, "lr": 1e12})


def test_a_crafted_checkpoint_runs_no_code(tiny_shapes, tmp_path, one_thread):
    """A checkpoint is loaded with weights_only: a pickle that would run code is refused with a user error."""
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"state": Exploit()}, checkpoint)
    with pytest.raises(UserError, match="not a checkpoint of this run"):
        train(models(), masks.build("none"), views(tiny_shapes), epochs=1, checkpoint=checkpoint, **BUDGET)
    assert not marker.exists()


def test_every_loss_of_a_short_run_is_finite(tiny_shapes, one_thread):
    result = train(models("byol"), masks.build("none"), views(tiny_shapes), epochs=1, **BUDGET)
    assert result.state.step == 3 and all(math.isfinite(x) for x in result.state.losses)
