"""One run: build the models from the seed, train, probe the frozen encoder, measure the masks.

Each run owns a folder ``OUT/runs/<strategy>-<objective>-<encoder>-s<seed>-<key>/`` holding
``settings.json``, ``checkpoint.pt`` (while training), ``model.pt``, ``metrics.json`` and ``log.txt``.
A run whose ``metrics.json`` exists is finished and is never redone.
"""

from __future__ import annotations

import copy
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
from adios.engine.trainer import Schedule, TrainResult, passes_per_image, train
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
    if strategy.needs_class_object and not data.class_object:
        raise UserError(
            f"strategy '{name}' needs to know which object defines the class, which dataset '{data.name}' does not say; "
            "use --dataset shapes"
        )
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


def curve_evaluator(data: ImageDataset, settings: RunSettings) -> Callable[[torch.nn.Module], dict[str, float]]:
    """The learning-curve probe: kNN (k = 20) on frozen features of a fixed prefix of the train and test images.

    The prefix (``curve_train`` images of render 0, ``curve_test`` test images) is the same for every
    strategy and seed, so the curves are paired like the final probes.
    """
    autocast = settings.precision == "bf16"
    train_images = data.normalise(data.train_images[: settings.curve_train, 0])
    test_images = data.normalise(data.test_images[: settings.curve_test])
    train_y, test_y = data.train_labels[: settings.curve_train].numpy(), data.test_labels[: settings.curve_test].numpy()

    def evaluate(objective: torch.nn.Module) -> dict[str, float]:
        encoder = objective.encoder
        train_x = extract_features(encoder, train_images, autocast=autocast).numpy()
        test_x = extract_features(encoder, test_images, autocast=autocast).numpy()
        return {"knn_acc": knn_probe(train_x, train_y, test_x, test_y, k=20)}

    return evaluate


def mask_model_share(strategy, encoder: torch.nn.Module, image_size: int, device: torch.device) -> float:
    """The occlusion model's forward + backward FLOPs per image, in units of one encoder forward + backward.

    Counted once per setting with ``torch.utils.flop_counter.FlopCounterMode`` on copies of the models
    (0 for static strategies): the learned strategy's cost beyond the encoder passes it causes.
    """
    if not masks.is_learned(strategy):
        return 0.0
    from torch.utils.flop_counter import FlopCounterMode

    def flops(fn) -> int:
        x = torch.randn(2, 3, image_size, image_size, device=device)
        with FlopCounterMode(display=False) as counter:
            fn(x).float().sum().backward()
        return counter.get_total_flops()

    strategy_copy, encoder_copy = copy.deepcopy(strategy).float(), copy.deepcopy(encoder).float()
    return flops(strategy_copy.propose) / max(1, flops(encoder_copy))


def planned_steps(settings: RunSettings, objective, strategy, views: PairedViews, data: ImageDataset, device) -> int | None:
    """Under ``budget="compute"``: the steps whose encoder passes match ``budget_baseline`` trained for ``epochs``.

    A strategy at 4 passes per image trains half the steps of one at 2. ``None`` under ``budget="epochs"``.
    """
    if settings.budget == "epochs":
        return None
    reference = build_strategy(settings.budget_baseline, settings.mask_options, settings.seed, data)
    fit_strategy(reference, settings.budget_baseline, data.normalise(data.train_images[:, 0]), None)
    epoch_steps = Schedule.of(views, settings.batch_size, settings.epochs).total
    ratio = passes_per_image(objective, reference, views, device) / passes_per_image(objective, strategy, views, device)
    return max(1, round(epoch_steps * ratio))


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


def objective_masks_both(objective) -> bool:
    """Whether the objective masks both views (the occlusion model then runs on both)."""
    return bool(getattr(objective, "masks_both_views", False))


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
    strategy, fit_seconds, share, steps = None, 0.0, 0.0, None
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
        steps = planned_steps(settings, objective, strategy, views, data, device)
        share = mask_model_share(strategy, encoder, data.image_size, device)
        evaluate = curve_evaluator(data, settings) if settings.eval_every > 0 else None
        result = train(
            objective,
            strategy,
            views,
            steps=steps,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            evaluate=evaluate,
            eval_every=settings.eval_every,
            **budget,
        )
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
    passes = result.passes_per_image if result else 0.0
    images = state.step * result.batch_size if state else 0
    record.update(
        {
            "budget": settings.budget,
            "curve": state.curve if state else [],
            "encoder_passes": state.encoder_images if state else 0,
            "mask_model_share": share,
            # counted work in encoder-pass units: the passes, plus one occlusion-model forward and backward per image and step
            "work": (state.encoder_images if state else 0) + images * share * (2 if objective_masks_both(objective) else 1),
            "eval_seconds": state.eval_seconds if state else 0.0,
            "wall_seconds": train_seconds
            + fit_seconds
            + (state.eval_seconds if state else 0.0)
            + (time.perf_counter() - probe_start),
            "fit_seconds": fit_seconds,
            "train_seconds": train_seconds,
            "mask_seconds": state.mask_seconds if state else 0.0,
            "probe_seconds": probe_seconds,
            "passes_per_image": passes,
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
