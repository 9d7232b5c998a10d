"""`shapes`: the embedded procedural benchmark, generated in code from a seed, no download.

Each image shows one large main object whose *shape* is the class (10 shapes by default), over a
textured background drawn from a shared pool, with 0-2 small distractor objects. Objects are
textured (two colours in stripes) and kept in luminance contrast with their background. Colour,
texture, scale, position and rotation vary, so the class is a matter of shape alone.

Every training image has several *renders*: the same main object (class, position, size, angle)
re-coloured on a fresh background from the pool with fresh distractors. The trainer takes the two
views of a pair from two different renders. This is a property of the benchmark, like multi-view
data, not a change to the objective: without it, SimCLR can tell images apart by their background
alone and learns little about shape in a CPU budget. Real datasets have one render per image.

The per-pixel instance map has 0 for background, 1 for the main object and 2.. for distractors.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from adios.data.dataset import ImageDataset
from adios.data.decode import notice
from adios.engine.seeding import derive_seed

VERSION = 4  # bump when the rendering changes, so stale caches are not reused

SHAPES = ("disk", "ring", "square", "triangle", "plus", "star", "crescent", "heart", "ell", "arrow", "bowtie", "tee")

MAIN_RADIUS = (0.31, 0.44)  # main-object radius as a fraction of the image side (10-14 px at 32 px)
MAIN_JITTER = 0.12  # centre offset from the image centre, fraction of the side
DISTRACTOR_RADIUS = (0.08, 0.14)
BACKGROUND_POOL = 64


def _polygon(points: list[tuple[float, float]], u: Tensor) -> Tensor:
    """Even-odd inside test of points ``u`` (..., 2) against a closed polygon."""
    x, y = u[..., 0], u[..., 1]
    inside = torch.zeros(x.shape, dtype=torch.bool)
    n = len(points)
    for i in range(n):
        (x1, y1), (x2, y2) = points[i], points[(i + 1) % n]
        crosses = (y1 > y) != (y2 > y)
        x_at = (x2 - x1) * (y - y1) / (y2 - y1 + 1e-12) + x1
        inside ^= crosses & (x < x_at)
    return inside


def _star(points: int, inner: float) -> list[tuple[float, float]]:
    return [
        (
            (1.0 if k % 2 == 0 else inner) * math.sin(math.pi * k / points),
            -(1.0 if k % 2 == 0 else inner) * math.cos(math.pi * k / points),
        )
        for k in range(2 * points)
    ]


def _inside(shape: str, u: Tensor) -> Tensor:
    """Whether unit-frame points ``u`` (..., 2) lie inside ``shape`` (object radius about 1)."""
    x, y = u[..., 0], u[..., 1]
    r = u.norm(dim=-1)
    if shape == "disk":
        return r <= 0.9
    if shape == "ring":
        return (r <= 0.95) & (r >= 0.5)
    if shape == "square":
        return torch.maximum(x.abs(), y.abs()) <= 0.72
    if shape == "triangle":
        return _polygon(_star(3, 1.0)[::2], u)
    if shape == "plus":
        return ((x.abs() <= 0.3) & (y.abs() <= 0.92)) | ((y.abs() <= 0.3) & (x.abs() <= 0.92))
    if shape == "star":
        return _polygon(_star(5, 0.42), u)
    if shape == "crescent":
        return (r <= 0.92) & ((x - 0.42).square() + y.square() >= 0.72**2)
    if shape == "heart":
        hx, hy = x / 0.78, -(y + 0.1) / 0.78
        return (hx.square() + hy.square() - 1) ** 3 - hx.square() * hy**3 <= 0
    if shape == "ell":
        return _polygon([(-0.75, -0.9), (-0.15, -0.9), (-0.15, 0.3), (0.75, 0.3), (0.75, 0.9), (-0.75, 0.9)], u)
    if shape == "arrow":
        return _polygon([(-0.92, -0.24), (0.05, -0.24), (0.05, -0.66), (0.92, 0.0), (0.05, 0.66), (0.05, 0.24), (-0.92, 0.24)], u)
    if shape == "bowtie":
        return _polygon([(-0.85, -0.8), (0.0, -0.12), (0.85, -0.8), (0.85, 0.8), (0.0, 0.12), (-0.85, 0.8)], u)
    if shape == "tee":
        return _polygon(
            [
                (-0.85, -0.85),
                (0.85, -0.85),
                (0.85, -0.35),
                (0.25, -0.35),
                (0.25, 0.9),
                (-0.25, 0.9),
                (-0.25, -0.35),
                (-0.85, -0.35),
            ],
            u,
        )
    raise ValueError(shape)


def shape_templates(shapes: tuple[str, ...], resolution: int) -> Tensor:
    """Anti-aliased alpha templates (S, 1, T, T): each shape centred on its centroid, circumradius 0.95 of the half-side."""
    sub = 4
    n = resolution * sub
    axis = (torch.arange(n, dtype=torch.float32) + 0.5) / n * 2 - 1
    u = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1)
    out = []
    for shape in shapes:
        inside = _inside(shape, u)
        centroid = u[inside].mean(0)
        extent = (u[inside] - centroid).norm(dim=-1).max()  # circumradius about the centroid
        inside = _inside(shape, u * (extent / 0.95) + centroid).float()  # centred, circumradius 0.95
        out.append(F.avg_pool2d(inside[None, None], sub)[0])
    return torch.stack(out)


def _luminance(rgb: Tensor) -> Tensor:
    return rgb @ torch.tensor([0.299, 0.587, 0.114])


def _backgrounds(count: int, size: int, g: torch.Generator) -> Tensor:
    """A pool of textured backgrounds (count, 3, size, size) in [0, 1]: gradient + grating + blotches."""
    axis = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    c1, c2 = torch.rand(count, 3, generator=g), torch.rand(count, 3, generator=g)
    angle = torch.rand(count, generator=g) * 2 * math.pi
    ramp = (xx * angle.cos().view(-1, 1, 1) + yy * angle.sin().view(-1, 1, 1)) * 0.5 + 0.5
    bg = c1.view(-1, 3, 1, 1) + (c2 - c1).view(-1, 3, 1, 1) * ramp[:, None]
    freq = (torch.rand(count, generator=g) * 4 + 2) * math.pi
    theta = torch.rand(count, generator=g) * math.pi
    phase = torch.rand(count, generator=g) * 2 * math.pi
    wave = torch.sin(
        freq.view(-1, 1, 1) * (xx * theta.cos().view(-1, 1, 1) + yy * theta.sin().view(-1, 1, 1)) + phase.view(-1, 1, 1)
    )
    amp = torch.rand(count, 1, 1, 1, generator=g) * 0.12 + 0.04
    bg = bg + amp * wave[:, None] * torch.rand(count, 3, 1, 1, generator=g).add(0.5)
    blotch = F.interpolate(torch.randn(count, 3, 4, 4, generator=g), size=(size, size), mode="bicubic", align_corners=False)
    return (bg + 0.06 * blotch).clamp(0, 1)


def _contrasting_colour(background_lum: Tensor, g: torch.Generator) -> Tensor:
    """Random colours (B, 3) whose luminance differs from ``background_lum`` by 0.25-0.55."""
    n = background_lum.shape[0]
    colour = torch.rand(n, 3, generator=g)
    offset = torch.rand(n, generator=g) * 0.3 + 0.25
    up = background_lum + offset
    down = background_lum - offset
    prefer_up = torch.rand(n, generator=g) < 0.5
    target = torch.where((prefer_up & (up <= 0.95)) | (down < 0.05), up, down).clamp(0.05, 0.95)
    return (colour + (target - _luminance(colour)).unsqueeze(1)).clamp(0, 1)


def _place(templates: Tensor, shape: Tensor, cx: Tensor, cy: Tensor, radius: Tensor, angle: Tensor, size: int) -> Tensor:
    """Alpha maps (B, 1, size, size) of templates placed at pixel centres with pixel radii and angles."""
    scale = radius / (size / 2)  # template half-side in normalised image units
    cos, sin = angle.cos(), angle.sin()
    centre_x, centre_y = cx / size * 2 - 1, cy / size * 2 - 1
    a = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2) / scale.view(-1, 1, 1)
    t = -(a @ torch.stack([centre_x, centre_y], -1).unsqueeze(-1))
    grid = F.affine_grid(torch.cat([a, t], -1), [shape.shape[0], 1, size, size], align_corners=False)
    return F.grid_sample(templates[shape], grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _texture(size: int, n: int, g: torch.Generator) -> Tensor:
    """Stripe patterns (n, 1, size, size) in [0, 1] with random frequency, orientation and phase."""
    axis = torch.arange(size, dtype=torch.float32)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    freq = (torch.rand(n, generator=g) * 0.15 + 0.1) * 32 / size * 2 * math.pi  # cycles per pixel, scaled with size
    theta = torch.rand(n, generator=g) * math.pi
    phase = torch.rand(n, generator=g) * 2 * math.pi
    proj = xx * theta.cos().view(-1, 1, 1) + yy * theta.sin().view(-1, 1, 1)
    return (torch.sin(freq.view(-1, 1, 1) * proj + phase.view(-1, 1, 1)) * 0.5 + 0.5)[:, None]


def render(
    scenes: dict[str, Tensor], size: int, backgrounds: Tensor, templates: Tensor, g: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Render scenes once: returns uint8 images (B, 3, H, W), instance maps (B, H, W) and the backgrounds used."""
    n = scenes["shape"].shape[0]
    background = backgrounds[torch.randint(0, backgrounds.shape[0], (n,), generator=g)]
    image = background.clone()
    instances = torch.zeros(n, size, size, dtype=torch.uint8)
    n_distractors = torch.randint(0, 3, (n,), generator=g)
    for j in range(2):
        radius = (torch.rand(n, generator=g) * (DISTRACTOR_RADIUS[1] - DISTRACTOR_RADIUS[0]) + DISTRACTOR_RADIUS[0]) * size
        cx, cy = (torch.rand(2, n, generator=g) * 0.8 + 0.1) * size
        shape = torch.randint(0, templates.shape[0], (n,), generator=g)
        angle = torch.rand(n, generator=g) * 2 * math.pi
        alpha = _place(templates, shape, cx, cy, radius, angle, size) * (n_distractors > j).view(-1, 1, 1, 1)
        colour = _contrasting_colour(_luminance(background.mean((2, 3))), g)
        image = torch.lerp(image, colour.view(-1, 3, 1, 1).expand_as(image), alpha)
        instances = torch.where(alpha[:, 0] > 0.5, j + 2, instances)
    alpha = _place(templates, scenes["shape"], scenes["cx"], scenes["cy"], scenes["radius"], scenes["angle"], size)
    under = (image * alpha).sum((2, 3)) / alpha.sum((2, 3)).clamp_min(1e-6)
    c1 = _contrasting_colour(_luminance(under), g)
    c2 = (c1 + (torch.rand(n, 3, generator=g) - 0.5) * 0.35).clamp(0, 1)
    stripes = _texture(size, n, g)
    texture = c1.view(-1, 3, 1, 1) + (c2 - c1).view(-1, 3, 1, 1) * stripes
    image = torch.lerp(image, texture, alpha)
    instances = torch.where(alpha[:, 0] > 0.5, 1, instances)
    return (image * 255).round().to(torch.uint8), instances, background


def _scenes(n: int, n_classes: int, size: int, g: torch.Generator) -> dict[str, Tensor]:
    """The label-defining part of each image: main-object shape, centre, radius and angle."""
    labels = torch.arange(n) % n_classes
    labels = labels[torch.randperm(n, generator=g)]
    radius = (torch.rand(n, generator=g) * (MAIN_RADIUS[1] - MAIN_RADIUS[0]) + MAIN_RADIUS[0]) * size
    offset = (torch.rand(2, n, generator=g) * 2 - 1) * MAIN_JITTER * size
    return {
        "shape": labels,
        "cx": size / 2 + offset[0],
        "cy": size / 2 + offset[1],
        "radius": radius,
        "angle": torch.rand(n, generator=g) * 2 * math.pi,
    }


def _render_split(
    scenes: dict[str, Tensor], renders: int, size: int, backgrounds: Tensor, templates: Tensor, seed: int, split: str
):
    images, instances = [], []
    for r in range(renders):
        g = torch.Generator().manual_seed(derive_seed(seed, f"shapes-{split}-render", r))
        img, inst, _ = render(scenes, size, backgrounds, templates, g)
        images.append(img)
        instances.append(inst)
    return torch.stack(images, 1), torch.stack(instances, 1)


def default_cache_dir() -> Path:
    """Where generated data is cached: ``$ADIOS_CACHE`` or ``~/.cache/adios``."""
    return Path(os.environ.get("ADIOS_CACHE", Path.home() / ".cache" / "adios"))


def make_shapes(
    n_train: int = 10_000,
    n_test: int = 2_000,
    size: int = 32,
    renders: int = 4,
    n_classes: int = 10,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> ImageDataset:
    """Generate (or load from the cache) the `shapes` dataset. Deterministic in all its arguments.

    A generation announces itself with one line on stderr; a load from the cache is silent.
    """
    if not 2 <= n_classes <= len(SHAPES):
        raise ValueError(f"n_classes must be in 2..{len(SHAPES)}")
    params = {
        "n_train": n_train,
        "n_test": n_test,
        "size": size,
        "renders": renders,
        "classes": n_classes,
        "seed": seed,
        "v": VERSION,
    }
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    cache = (cache_dir or default_cache_dir()) / f"shapes-{key}.pt"
    if cache.exists():
        try:
            return ImageDataset(**{**torch.load(cache, weights_only=True), "class_object": True})
        except Exception:  # a corrupt or partial cache is regenerated
            cache.unlink(missing_ok=True)
    notice(f"generating the shapes dataset ({n_train} train, {n_test} test, {size} px) once; cached in {cache.parent}")
    shapes = SHAPES[:n_classes]
    templates = shape_templates(SHAPES, max(64, 2 * size))
    backgrounds = _backgrounds(BACKGROUND_POOL, size, torch.Generator().manual_seed(derive_seed(seed, "shapes-backgrounds")))
    train_scenes = _scenes(n_train, n_classes, size, torch.Generator().manual_seed(derive_seed(seed, "shapes-train")))
    test_scenes = _scenes(n_test, n_classes, size, torch.Generator().manual_seed(derive_seed(seed, "shapes-test")))
    train_images, train_instances = _render_split(train_scenes, renders, size, backgrounds, templates, seed, "train")
    test_images, test_instances = _render_split(test_scenes, 1, size, backgrounds, templates, seed, "test")
    data = ImageDataset(
        name="shapes",
        train_images=train_images,
        train_labels=train_scenes["shape"],
        test_images=test_images[:, 0],
        test_labels=test_scenes["shape"],
        classes=list(shapes),
        train_instances=train_instances,
        test_instances=test_instances[:, 0],
        class_object=True,
    )
    from adios.runner.store import atomic_torch_save

    atomic_torch_save({k: v for k, v in data.__dict__.items() if k != "ssl_images"}, cache)  # the pool is the train split
    return data
