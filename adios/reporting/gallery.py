"""Mask galleries of strategies on test images (``adios masks`` and the comparison's ``masks.png``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

import masks
from adios.data import ImageDataset
from adios.engine.seeding import generator
from adios.runner.run import build_strategy, fit_images, fit_strategy
from masks.gallery import render_gallery


def trained_state(runs: Path, strategy: str) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None] | None:
    """Mask options and trained weights of the first finished run of ``strategy`` in a results folder."""
    for folder in sorted((runs / "runs").glob(f"{strategy}-*")):
        settings, model = folder / "settings.json", folder / "model.pt"
        if settings.exists() and model.exists() and json.loads(settings.read_text()).get("strategy") == strategy:
            options = json.loads(settings.read_text()).get("mask_options", {})
            return options, torch.load(model, weights_only=True, map_location="cpu").get("strategy")
    return None


def masks_to_show(strategy, images: torch.Tensor, g: torch.Generator, instances: torch.Tensor | None) -> torch.Tensor:
    """Hard masks (B, K, H, W) to draw: a learned strategy's argmax partition of all its N slots
    (colour-coded in the gallery), a static strategy's masks."""
    if masks.is_learned(strategy):
        slots = strategy.propose(images)
        return torch.nn.functional.one_hot(slots.argmax(1), slots.shape[1]).permute(0, 3, 1, 2).float()
    return strategy.binary_masks(images, g, instances).float()


@torch.no_grad()
def strategy_gallery(
    data: ImageDataset,
    names: list[str],
    path: Path,
    *,
    n: int = 8,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    runs: Path | None = None,
) -> Path:
    """Render the masks of each strategy on the first ``n`` test images into a PNG at ``path``.

    With ``runs`` (a results folder), learned strategies use the weights of their first finished run there.
    """
    images = data.normalise(data.test_images[:n])
    images_to_fit = fit_images(data)  # the same images a run fits on, so the same codebook
    cache_dir = runs / "cache" if runs is not None else None
    instances = None if data.test_instances is None else data.test_instances[:n].long()
    rows = {}
    for name in names:
        strategy_options = dict(options or {})
        state = None
        found = trained_state(runs, name) if runs is not None else None
        if found is not None:
            strategy_options, state = {**found[0], **strategy_options}, found[1]
        strategy = build_strategy(name, strategy_options, seed, data)
        if state is not None:
            strategy.load_state_dict(state)
        if isinstance(strategy, torch.nn.Module):
            strategy.eval()
        fit_strategy(strategy, name, images_to_fit, cache_dir)
        if masks.is_learned(strategy):
            label = f"{name}\n({'trained' if state is not None else 'untrained'}; colour = slot)"
        elif masks.takes_area(name):
            label = f"{name}\n(area {strategy.target_area:g})"
        else:
            label = f"{name}\n(own area)"
        rows[label] = masks_to_show(strategy, images, generator(seed, "gallery"), instances)
    area = (options or {}).get("mask_area")
    rule = (
        f"areas matched at {area:g} where a strategy takes one" if area is not None else "each strategy at its own default area"
    )
    title = f"{data.name}: masks on test images; grey = hidden, {rule}; learned strategies: the argmax slot of each pixel"
    return render_gallery(data.denormalise(images), rows, path, title=title)


def gallery_renderer(data: ImageDataset, strategies: list[str], seed: int, options: dict[str, Any] | None, runs: Path):
    """A callable ``(path) -> None`` drawing the gallery of a comparison's strategies (those the data can mask)."""
    shown = [
        s
        for s in strategies
        if s in masks.names()
        and (not masks.get(s).needs_instances or data.has_instances)
        and (not masks.get(s).needs_class_object or data.class_object)
    ]

    def render(path: Path) -> None:
        strategy_gallery(data, shown, path, seed=seed, options=options, runs=runs)

    return render


def gallery_command(
    strategies: str,
    dataset: str,
    data_dir: Path | None,
    image_size: int,
    n: int,
    seed: int,
    from_run: Path | None,
    match_area: str,
    mode: str | None,
    out: Path,
) -> Path:
    """``adios masks``: the gallery of the named strategies (``all``: every non-control one), areas as ``compare`` matches them."""
    from adios.data import load_dataset
    from adios.errors import UserError
    from adios.runner.comparison import matched_area
    from adios.runner.presets import get_preset

    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    names = (
        [s for s in masks.names() if not masks.get(s).control]
        if strategies.strip() == "all"
        else [s.strip() for s in strategies.split(",") if s.strip()]
    )
    for name in names:
        masks.get(name)
    area = matched_area(match_area, get_preset("quick"))
    data = load_dataset(dataset, data_dir, image_size, n_train=None, n_test=None)
    options = {k: v for k, v in {"mode": mode, "mask_area": area}.items() if v is not None}
    return strategy_gallery(data, names, out, n=n, seed=seed, options=options, runs=from_run)
