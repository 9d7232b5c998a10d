"""The shared property checks every strategy must pass: the contract of :mod:`masks.contract`, as code.

``adios check-strategy NAME`` prints them as a pass/fail table, ``adios list`` runs :func:`smoke_check`
on plugins, and ``tests/masks/test_contract.py`` runs them on every registered strategy, so a new
strategy is tested without new test code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from masks.registry import build, takes_area

SIZES = (32, 64, 96)
AREA_TOLERANCE = 0.05  # mean hidden fraction over 256 images, against the target


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


def instance_maps(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """Synthetic instance maps: a background, one big square object (id 1) and a small one (id 2) per image."""
    g = torch.Generator().manual_seed(seed)
    inst = torch.zeros(batch, size, size, dtype=torch.long)
    for i in range(batch):
        side = size // 2 + int(torch.randint(-size // 8, size // 8 + 1, (1,), generator=g))
        x, y = torch.randint(0, size - side + 1, (2,), generator=g).tolist()
        inst[i, y : y + side, x : x + side] = 1
        inst[i, :3, :3] = 2
    return inst


def make(name: str, size: int = 32, **options):
    """The strategy built at ``size`` with its defaults (and ``options``), initialised from a fixed seed."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build(name, image_size=size, **options)


def draw(strategy, images: torch.Tensor, seed: int, instances: torch.Tensor | None = None) -> torch.Tensor:
    g = torch.Generator(device=images.device).manual_seed(seed)
    with torch.no_grad():
        return strategy(images, g, instances)


def _fitted(name: str, size: int, n: int, **options):
    strategy = make(name, size, **options)
    images = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(size))
    strategy.fit(images)
    return strategy, images, instance_maps(n, size)


def check_shape_and_range(name: str, size: int = 32) -> CheckResult:
    strategy, images, inst = _fitted(name, size, 8)
    m = draw(strategy, images, 0, inst)
    expected = (8, strategy.num_masks, size, size)
    if tuple(m.shape) != expected:
        return CheckResult(f"shape at {size} px", False, f"masks {tuple(m.shape)}, expected (B, K, H, W) = {expected}")
    if not m.dtype.is_floating_point:
        return CheckResult(f"shape at {size} px", False, f"masks are {m.dtype}; return float masks in [0, 1]")
    if not bool(torch.isfinite(m).all()):
        return CheckResult(f"range at {size} px", False, "masks contain NaN or inf")
    low, high = float(m.min()), float(m.max())
    if low < 0 or high > 1:
        return CheckResult(f"range at {size} px", False, f"masks span [{low:.3g}, {high:.3g}], outside [0, 1]")
    return CheckResult(f"shape and range at {size} px", True, f"{expected}, values in [{low:.2f}, {high:.2f}]")


def check_determinism(name: str) -> CheckResult:
    strategy, images, inst = _fitted(name, 32, 16)
    same = torch.equal(draw(strategy, images, 7, inst), draw(strategy, images, 7, inst))
    return CheckResult(
        "determinism", same, "same generator state, same masks" if same else "the same generator state gave other masks"
    )


def check_device(name: str) -> CheckResult:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        strategy, images, inst = _fitted(name, 32, 4)
        if isinstance(strategy, torch.nn.Module):
            strategy.to(device)
        m = draw(strategy, images.to(device), 0, inst.to(device))
        if m.device.type != device:
            return CheckResult("device", False, f"images on {device}, masks on {m.device}")
    return CheckResult("device", True, f"masks stay on {', '.join(devices)}")


def check_target_area(name: str, area: float = 0.25) -> CheckResult:
    """A strategy that takes ``mask_area`` hides that fraction on average (over 256 images)."""
    if not takes_area(name):
        return CheckResult("target area", True, "takes no target area (chooses its own)")
    strategy, images, inst = _fitted(name, 32, 256, mask_area=area)
    mean = float(draw(strategy, images, 0, inst).float().mean())
    ok = abs(mean - area) <= AREA_TOLERANCE
    return CheckResult("target area", ok, f"mean hidden fraction {mean:.3f} for a target of {area} (tolerance {AREA_TOLERANCE})")


def check_all(name: str) -> list[CheckResult]:
    """Every check on one strategy; a check that raises is a failure with the error as its detail."""
    checks = [(f"shape and range at {size} px", lambda size=size: check_shape_and_range(name, size)) for size in SIZES]
    checks += [("determinism", lambda: check_determinism(name)), ("device", lambda: check_device(name))]
    checks += [("target area", lambda: check_target_area(name))]
    results = []
    for label, check in checks:
        try:
            results.append(check())
        except Exception as error:  # a broken strategy must be reported, not crash the checker
            results.append(CheckResult(label, False, f"raised {type(error).__name__}: {error}"))
    return results


def smoke_check(name: str) -> str | None:
    """One quick draw at 32 px: None if the masks keep the contract, else what is wrong (for ``adios list``)."""
    try:
        result = check_shape_and_range(name, 32)
    except Exception as error:
        return f"raised {type(error).__name__}: {error}"
    return None if result.passed else result.detail


__all__ = ["CheckResult", "check_all", "draw", "instance_maps", "make", "smoke_check"]
