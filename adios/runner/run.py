"""One run: build the models from the seed, train, probe the frozen encoder, measure the masks.

Each run owns a folder ``OUT/runs/<strategy>-<objective>-<encoder>-s<seed>-<key>/`` holding
``settings.json``, ``checkpoint.pt`` (while training), ``model.pt``, ``metrics.json`` and ``log.txt``.
A run whose ``metrics.json`` exists is finished and is never redone.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import masks
from adios.data import ImageDataset
from adios.engine.encoders import build_encoder
from adios.engine.objectives import build_objective
from adios.engine.seeding import generator, global_seed
from adios.engine.trainer import TrainResult, train
from adios.engine.views import AugmentSettings, PairedViews
from adios.errors import UserError
from adios.runner.references import REFERENCES, train_supervised
from adios.runner.settings import RunSettings
from adios.runner.store import atomic_torch_save, atomic_write_json
from eval.features import extract_features
from eval.mask_metrics import mask_agreement, partition_from_masks
from eval.probes import fit_linear_probe, knn_probe
from eval.robustness import occlude
from masks.stats import mask_statistics

MASK_METRIC_IMAGES = 512  # test images the mask statistics are measured on


def run_key(settings: RunSettings) -> str:
    """A short hash of every setting and of every option the strategy is built with, its defaults included.

    So a strategy whose default changes (say, a codebook size) gets a new run, never a silent reuse.
    """
    options = {} if settings.strategy in REFERENCES else masks.effective_options(settings.strategy, settings.mask_options)
    text = json.dumps({"settings": settings.to_dict(), "strategy_options": options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_name(settings: RunSettings) -> str:
    return f"{settings.strategy}-{settings.objective}-{settings.encoder}-s{settings.seed}-{run_key(settings)}"


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}'; use auto, cpu or cuda (cuda:N for one GPU)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda, but torch sees no CUDA GPU here; use --device cpu (or auto)")
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"device '{name}' is not supported; use auto, cpu or cuda")
    return device


def build_strategy(
    name: str, options: dict[str, Any], seed: int, data: ImageDataset
) -> masks.MaskStrategy | masks.LearnedStrategy:
    """A mask strategy built from its options, initialised from the seed, checked against the data."""
    try:
        with global_seed(seed, "strategy-init"):
            strategy = masks.build(name, image_size=data.image_size, **options)
    except masks.UnknownStrategy:
        raise UserError(f"unknown strategy '{name}'; choose one of: {', '.join(masks.names())}") from None
    except (TypeError, ValueError) as error:
        raise UserError(f"strategy '{name}': {error}") from None
    if strategy.needs_instances and not data.has_instances:
        raise UserError(f"strategy '{name}' needs instance maps, which dataset '{data.name}' does not have; use --dataset shapes")
    return strategy


def fit_strategy(
    strategy: masks.MaskStrategy | masks.LearnedStrategy, name: str, images: torch.Tensor, cache_dir: Path | None
) -> None:
    """``strategy.fit`` on normalised training images; data the strategy's options cannot take is a user error."""
    try:
        strategy.fit(images, cache_dir=cache_dir)
    except ValueError as error:
        raise UserError(f"strategy '{name}': {error}") from None


def augment_settings(settings: RunSettings) -> AugmentSettings:
    """The view pipeline of a run: the standard protocol with the run's crop scale and jitter strength."""
    s = settings.jitter
    return AugmentSettings(crop_scale=settings.crop_scale, jitter=(s, s, s, s / 4))


def objective_options(settings: RunSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "proj_hidden": settings.proj_hidden,
        "proj_out": settings.proj_out,
        "pred_hidden": settings.pred_hidden,
    }
    if settings.objective == "simclr":
        options["temperature"] = settings.temperature
        options.pop("pred_hidden")
    return {k: v for k, v in options.items() if v is not None}


def build_models(settings: RunSettings, data: ImageDataset, device: torch.device):
    """Encoder (+ objective) initialised from the seed alone: the same weights for every strategy.

    Reference runs (random-init, supervised) build the encoder alone; it is created first from the
    same stream, so it starts from the same weights as the SSL runs' encoder.
    """
    with global_seed(settings.seed, "model-init"):
        encoder = build_encoder(settings.encoder, data.image_size)
        objective = (
            None
            if settings.strategy in REFERENCES
            else build_objective(settings.objective, encoder, **objective_options(settings))
        )
    model = objective if objective is not None else encoder
    model.to(device)
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    return encoder, objective


def probe(encoder: torch.nn.Module, data: ImageDataset, precision: str) -> dict[str, float]:
    """Linear and kNN probes on frozen features of unaugmented train (render 0) and test images.

    The linear probe fitted on clean features is also scored on the test images covered by the
    held-out occluders of :mod:`eval.robustness` (occlusion robustness).
    """
    autocast = precision == "bf16"
    features = lambda images: extract_features(encoder, data.normalise(images), autocast=autocast).numpy()  # noqa: E731
    train_x, test_x = features(data.train_images[:, 0]), features(data.test_images)
    train_y, test_y = data.train_labels.numpy(), data.test_labels.numpy()
    occluded_images, occluded_fraction = occlude(data.test_images, fill=data.mean)
    linear = fit_linear_probe(train_x, train_y)
    return {
        "linear_acc": float(linear.score(test_x, test_y)),
        "knn_acc": knn_probe(train_x, train_y, test_x, test_y, k=20),
        "knn200_acc": knn_probe(train_x, train_y, test_x, test_y, k=200),
        "occluded_linear_acc": float(linear.score(features(occluded_images), test_y)),
        "occluded_fraction": occluded_fraction,
    }


@torch.no_grad()
def measure_masks(strategy, data: ImageDataset, seed: int, device: torch.device) -> dict[str, float]:
    """Mask statistics on the first test images (unaugmented), with a fixed generator.

    On datasets with instance maps, also the agreement of the strategy's partition with the objects:
    for a learned strategy the argmax of all its N slots, for a static one hidden vs visible.
    """
    images = data.normalise(data.test_images[:MASK_METRIC_IMAGES]).to(device)
    instances = None if data.test_instances is None else data.test_instances[:MASK_METRIC_IMAGES].long().to(device)
    if isinstance(strategy, torch.nn.Module):
        strategy.eval()
    soft = strategy(images, generator(seed, "mask-metrics", device=device), instances)
    hard = strategy.binary_masks(images, generator(seed, "mask-metrics", device=device), instances)
    stats = mask_statistics(soft.float(), hard)
    if instances is not None and bool(hard.any()):  # a strategy that hides nothing has no segments to compare
        partition = strategy.propose(images).argmax(1) if masks.is_learned(strategy) else partition_from_masks(hard)
        stats.update(mask_agreement(partition.cpu(), instances.cpu()))
    return stats


class RunLog:
    """Appends lines to the run's ``log.txt``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, line: str) -> None:
        with open(self.path, "a") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def execute_run(
    settings: RunSettings,
    data: ImageDataset,
    out: Path,
    *,
    device: torch.device | None = None,
    on_step: Callable[[int, int], None] | None = None,
    checkpoint_every: int = 20,
) -> tuple[dict[str, Any], str]:
    """Do one run (or load its finished record). Returns the record and 'done', 'resumed' or 'skipped'."""
    device = device or pick_device()
    name = run_name(settings)
    folder = out / "runs" / name
    metrics_path = folder / "metrics.json"
    if metrics_path.exists():
        return json.loads(metrics_path.read_text()), "skipped"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "settings.json", settings.to_dict())
    checkpoint = folder / "checkpoint.pt"
    status = "resumed" if checkpoint.exists() else "done"
    log = RunLog(folder / "log.txt")
    log(f"{status} run {name} on {device}")
    encoder, objective = build_models(settings, data, device)
    views = PairedViews(data, augment_settings(settings), settings.seed)
    step_cb = (lambda step, total, *_: on_step(step, total)) if on_step else None
    budget = dict(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        optimizer=settings.optimizer,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        warmup=settings.warmup,
        precision=settings.precision,
        device=device,
        on_step=step_cb,
    )
    strategy, fit_seconds = None, 0.0
    if settings.strategy == "supervised":
        result: TrainResult | None = train_supervised(encoder, len(data.classes), views, **budget)
    elif settings.strategy == "random-init":
        result = None
    else:
        strategy = build_strategy(settings.strategy, settings.mask_options, settings.seed, data)
        if isinstance(strategy, torch.nn.Module):
            strategy.to(device)
        fit_start = time.perf_counter()
        fit_strategy(strategy, settings.strategy, data.normalise(data.train_images[:, 0]), out / "cache")
        fit_seconds = time.perf_counter() - fit_start
        result = train(objective, strategy, views, checkpoint=checkpoint, checkpoint_every=checkpoint_every, **budget)
        log(f"trained {result.state.step} steps in {result.state.train_seconds:.1f}s")

    probe_start = time.perf_counter()
    record: dict[str, Any] = {
        "strategy": settings.strategy,
        "objective": settings.objective,
        "encoder": settings.encoder,
        "dataset": settings.dataset,
        "seed": settings.seed,
        **probe(encoder, data, settings.precision),
    }
    probe_seconds = time.perf_counter() - probe_start
    if strategy is not None:
        record.update(measure_masks(strategy, data, settings.seed, device))
        record["mask_options"] = strategy.options
        record["target_area"] = strategy.target_area
    else:
        record["mask_area"] = None
    state = result.state if result is not None else None
    train_seconds = state.train_seconds if state else 0.0
    record.update(
        {
            "wall_seconds": train_seconds + fit_seconds + (time.perf_counter() - probe_start),
            "fit_seconds": fit_seconds,
            "train_seconds": train_seconds,
            "mask_seconds": state.mask_seconds if state else 0.0,
            "probe_seconds": probe_seconds,
            "passes_per_image": result.passes_per_image if result else 0.0,
            "steps": state.step if state else 0,
            "final_loss": state.losses[-1] if state and state.losses else None,
            "losses": state.losses if state else [],
            "mask_losses": state.mask_losses if state else [],
            "key": run_key(settings),
            "run": name,
            "device": str(device),
            "torch": torch.__version__,
        }
    )
    atomic_torch_save(
        {"encoder": encoder.state_dict(), "strategy": strategy.state_dict() if isinstance(strategy, torch.nn.Module) else None},
        folder / "model.pt",
    )
    atomic_write_json(metrics_path, record)
    checkpoint.unlink(missing_ok=True)
    log(f"linear {record['linear_acc']:.3f} knn {record['knn_acc']:.3f} in {record['wall_seconds']:.1f}s")
    return record, status


__all__ = ["REFERENCES", "execute_run", "run_key", "run_name"]
