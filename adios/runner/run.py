"""One run: build the models from the seed, train, probe the frozen encoder, measure the masks, write the record.

Each run owns a folder ``OUT/runs/<row>-<objective>-<encoder>-s<seed>-<key>/`` holding ``settings.json``,
``checkpoint.pt`` (while training), ``model.pt``, ``metrics.json`` and ``log.txt``. A run whose
``metrics.json`` exists is finished and is never redone; a lock per run folder keeps two processes
(shards) from training the same run. A run whose loss goes NaN or whose features collapse is
recorded as failed, with the step and the reason, and the grid goes on.

Under torchrun every rank trains the run together (docs/cluster.md); rank 0 alone holds the lock,
probes the encoder, measures the masks and writes the folder, and the other ranks wait for it.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import masks
from adios.data import ImageDataset
from adios.engine import distributed
from adios.engine.encoders import build_encoder
from adios.engine.objectives import OBJECTIVES, Objective, build_objective
from adios.engine.seeding import generator, global_seed
from adios.engine.trainer import Diverged, Schedule, TrainState, passes_per_image, train
from adios.engine.views import AugmentSettings, PairedViews
from adios.errors import UserError
from adios.runner import provenance
from adios.runner.record import RunRecord, read_record, record_document
from adios.runner.references import REFERENCES
from adios.runner.settings import RunSettings, run_key, simsiam_terms
from adios.runner.store import atomic_torch_save, atomic_write_json, run_lock
from eval.clustering import clustering_probe
from eval.collapse import feature_spread, is_collapsed
from eval.features import extract_features
from eval.mask_metrics import mask_agreement, partition_from_masks
from eval.probes import fit_linear_probe, knn_probe
from eval.robustness import occlude
from masks.stats import mask_statistics

MASK_METRIC_IMAGES = 512  # test images the mask statistics are measured on
FIT_IMAGES = 10_000  # training images a strategy's fit (the SIFT codebook) may draw from


@dataclass(frozen=True)
class RunIdentity:
    """What a run is, before anything is built: its table row, kind, key and folder name."""

    row: str
    kind: str  # "strategy", "control" or "reference"
    trains: bool
    strategy_options: dict[str, Any] | None
    key: str

    @classmethod
    def of(cls, settings: RunSettings) -> RunIdentity:
        if settings.reference is not None:
            reference = REFERENCES.get(settings.reference)
            return cls(settings.reference, "reference", reference.trains, None, run_key(settings, None, reference.trains))
        options = masks.effective_options(settings.strategy, settings.mask_options)
        kind = "control" if masks.get(settings.strategy).control else "strategy"
        return cls(settings.strategy, kind, True, options, run_key(settings, options))


def run_name(settings: RunSettings) -> str:
    """The run's folder name: ``<row>-<objective>-<encoder>-s<seed>-<key>``."""
    identity = RunIdentity.of(settings)
    return f"{identity.row}-{settings.objective}-{settings.encoder}-s{settings.seed}-{identity.key}"


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when present, else the CPU. Under torchrun, CUDA means this process's GPU, ``cuda:LOCAL_RANK``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}'; use auto, cpu or cuda (cuda:N for one GPU)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda, but torch sees no CUDA GPU here; use --device cpu (or auto)")
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"device '{name}' is not supported; use auto, cpu or cuda")
    if device.type == "cuda" and distributed.launched_world_size() > 1:
        if device.index is not None:
            raise UserError(f"--device {name} under torchrun: each process takes its own GPU; use --device cuda (or auto)")
        return torch.device("cuda", distributed.local_rank())
    return device


def build_strategy(
    name: str, options: dict[str, Any], seed: int, data: ImageDataset
) -> masks.MaskStrategy | masks.LearnedStrategy:
    """A mask strategy built from its options, initialised from the seed, checked against the data."""
    cls = masks.get(name)
    if cls.needs_instances and not data.has_instances:
        raise UserError(f"strategy '{name}' needs instance maps, which dataset '{data.name}' does not have; use --dataset shapes")
    if cls.needs_class_object and not data.class_object:
        raise UserError(
            f"strategy '{name}' needs to know which object defines the class, which dataset '{data.name}' does not say; "
            "use --dataset shapes"
        )
    try:
        with global_seed(seed, "strategy-init"):
            return masks.build(name, image_size=data.image_size, **options)
    except (TypeError, ValueError) as error:
        raise UserError(f"strategy '{name}': {error}") from None


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
    """The options of the run's objective that it takes (head widths, temperature), from its constructor."""
    values = {
        "proj_hidden": settings.proj_hidden,
        "proj_out": settings.proj_out,
        "pred_hidden": settings.pred_hidden,
        "temperature": settings.temperature,
        "terms": simsiam_terms(settings.simsiam_terms),
        "ema_start": settings.ema_base,
        "fixed_predictor_lr": settings.fixed_predictor_lr,
    }
    params = inspect.signature(OBJECTIVES.get(settings.objective)).parameters
    return {k: v for k, v in values.items() if k in params and v is not None}


def build_models(settings: RunSettings, data: ImageDataset, device: torch.device) -> tuple[torch.nn.Module, Objective | None]:
    """Encoder and what trains it, initialised from the seed alone: the same weights for every strategy.

    The encoder is created first from the same stream, so reference runs start from the same weights
    as the SSL runs' encoder. A reference that does not train has no objective.
    """
    with global_seed(settings.seed, "model-init"):
        encoder = build_encoder(settings.encoder, data.image_size, stem=settings.stem, patch_size=settings.patch_size)
        if settings.reference is not None:
            objective = REFERENCES.get(settings.reference)().objective(encoder, data)
        else:
            objective = build_objective(settings.objective, encoder, **objective_options(settings))
    model = objective if objective is not None else encoder
    model.to(device)
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    return encoder, objective


def probe(encoder: torch.nn.Module, data: ImageDataset, precision: str) -> dict[str, float]:
    """Linear, kNN and clustering probes on frozen features of unaugmented train (render 0) and test images.

    The linear probe fitted on clean features is also scored on the test images covered by the
    held-out occluders of :mod:`eval.robustness` (occlusion robustness). ``feature_std`` is the
    spread of the test features (:func:`eval.collapse.feature_spread`; ~0 means collapse); the
    clustering probe is k-means on the standardised test features (:mod:`eval.clustering`).
    """
    autocast = precision == "bf16"

    def features(images: torch.Tensor) -> np.ndarray:  # streamed: uint8 batches normalised one at a time
        return extract_features(encoder, images, autocast=autocast, normalise=data.normalise).numpy()

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
        "feature_std": feature_spread(test_x),
        **clustering_probe(test_x, test_y),
    }


def curve_evaluator(data: ImageDataset, settings: RunSettings) -> Callable[[Objective], dict[str, float]]:
    """The learning-curve probe: kNN (k = 20) on frozen features of a fixed prefix of the train and test images.

    The prefix (``curve_train`` images of render 0, ``curve_test`` test images) is the same for every
    strategy and seed, so the curves are paired like the final probes.
    """
    autocast = settings.precision == "bf16"
    train_images = data.normalise(data.train_images[: settings.curve_train, 0])
    test_images = data.normalise(data.test_images[: settings.curve_test])
    train_y, test_y = data.train_labels[: settings.curve_train].numpy(), data.test_labels[: settings.curve_test].numpy()

    def evaluate(objective: Objective) -> dict[str, float]:
        train_x = extract_features(objective.encoder, train_images, autocast=autocast).numpy()
        test_x = extract_features(objective.encoder, test_images, autocast=autocast).numpy()
        return {"knn_acc": knn_probe(train_x, train_y, test_x, test_y, k=20)}

    return evaluate


def mask_model_share(strategy, encoder: torch.nn.Module, image_size: int, device: torch.device) -> float:
    """The occlusion model's forward + backward FLOPs per image, in units of one encoder forward + backward.

    Counted once per setting with ``torch.utils.flop_counter.FlopCounterMode`` on copies of the models
    (0 for static strategies): a learned strategy's cost beyond the encoder passes it causes.
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


def planned_steps(
    settings: RunSettings, objective: Objective, strategy, views: PairedViews, data: ImageDataset, device
) -> int | None:
    """Under ``budget="compute"``: the steps whose encoder passes match ``budget_baseline`` trained for ``epochs``.

    A strategy at 4 passes per image trains half the steps of one at 2. ``None`` under ``budget="epochs"``.
    """
    if settings.budget == "epochs":
        return None
    reference = build_strategy(settings.budget_baseline, settings.mask_options, settings.seed, data)
    fit_strategy(reference, settings.budget_baseline, fit_images(data), None)
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
    stats["hidden_fraction"], stats["hidden_fraction_std"] = stats.pop("mask_area"), stats.pop("mask_area_std")
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
    on_wait: Callable[[], None] | None = None,
    checkpoint_every: int = 20,
    matched_area: float | None = None,
) -> tuple[RunRecord, str]:
    """Do one run (or load its finished record). Returns the record and 'done', 'resumed' or 'skipped'.

    Under torchrun every rank calls this; rank 0 holds the lock and decides, and every rank returns rank 0's answer.
    """
    device = device or pick_device()
    folder = out / "runs" / run_name(settings)
    main = distributed.is_main()
    with run_lock(folder, on_wait) if main else contextlib.nullcontext():
        if distributed.from_main((folder / "metrics.json").exists()):
            done = (read_record(folder / "metrics.json"), "skipped") if main else None
        else:
            done = _train_and_measure(settings, data, out, folder, device, on_step, checkpoint_every, matched_area)
    return distributed.from_main(done)


def fit_images(data: ImageDataset) -> torch.Tensor:
    """The normalised training images a strategy's ``fit`` sees: render 0 of at most the first 10,000 (bounded memory)."""
    return data.normalise(data.train_images[:FIT_IMAGES, 0])


def _train(
    settings: RunSettings,
    data: ImageDataset,
    objective: Objective,
    strategy,
    device,
    checkpoint: Path,
    checkpoint_every: int,
    on_step,
):
    """Train the objective (and a learned strategy) as the settings say; returns the final state and the batch size."""
    labelled_only = objective.uses_labels  # the supervised reference trains on labelled images only
    views = PairedViews(data, augment_settings(settings), settings.seed, labelled_only=labelled_only, device=device)
    result = train(
        objective,
        strategy,
        views,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        optimizer=settings.optimizer,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        warmup=settings.warmup,
        optimizer_options={"lars_clip": settings.lars_clip, "lars_eta": settings.lars_eta},
        steps=planned_steps(settings, objective, strategy, views, data, device),
        precision=settings.precision,
        device=device,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        on_step=(lambda step, total, *_: on_step(step, total)) if on_step else None,
        evaluate=curve_evaluator(data, settings) if settings.eval_every > 0 else None,
        eval_every=settings.eval_every,
    )
    return result.state, result.batch_size


def _train_and_measure(
    settings, data, out, folder, device, on_step, checkpoint_every, matched_area
) -> tuple[RunRecord, str] | None:
    """Train (every rank), then probe, measure and write the record (rank 0, which returns it; the others return None)."""
    identity = RunIdentity.of(settings)
    main = distributed.is_main()
    checkpoint = folder / "checkpoint.pt"
    status = "resumed" if distributed.from_main(checkpoint.exists()) else "done"
    log = RunLog(folder / "log.txt") if main else lambda line: None
    if main:
        atomic_write_json(folder / "settings.json", settings.to_dict())
    log(f"{'resuming' if status == 'resumed' else 'starting'} run {folder.name} on {distributed.describe(device)}")
    encoder, objective = build_models(settings, data, device)
    strategy = (
        masks.build("none")
        if settings.reference is not None
        else build_strategy(settings.strategy, settings.mask_options, settings.seed, data)
    )
    if isinstance(strategy, torch.nn.Module):
        strategy.to(device)
    fit_start = time.perf_counter()
    if objective is not None:
        with distributed.main_first():  # rank 0 fills the strategy's cache, the others read it
            fit_strategy(strategy, settings.strategy, fit_images(data), out / "cache")
    fit_seconds = time.perf_counter() - fit_start

    state, failure, share, batch_size = TrainState(), None, 0.0, 0
    if objective is not None:
        share = mask_model_share(strategy, encoder, data.image_size, device)
        try:
            state, batch_size = _train(settings, data, objective, strategy, device, checkpoint, checkpoint_every, on_step)
            log(f"trained {state.step} steps in {state.train_seconds:.1f}s")
        except Diverged as diverged:  # on every rank at once: the losses are averaged over the ranks
            failure = str(diverged)
            log(f"failed: {failure}")
    if not main:
        return None

    probe_start = time.perf_counter()
    record = RunRecord(
        strategy=identity.row,
        objective=settings.objective,
        encoder=settings.encoder,
        dataset=settings.dataset,
        seed=settings.seed,
        kind=identity.kind,
    )
    if failure is None:
        for name, value in probe(encoder, data, settings.precision).items():
            setattr(record, name, value)
        if is_collapsed(record.feature_std):
            failure = f"collapsed features (spread {record.feature_std:.3f} of the test features)"
    probe_seconds = time.perf_counter() - probe_start
    if identity.kind != "reference" and failure is None:
        for name, value in measure_masks(strategy, data, settings.seed, device).items():
            setattr(record, name, value)
        record.mask_options, record.target_area = strategy.options, strategy.target_area
        record.area_matched = masks.takes_area(settings.strategy) and strategy.options.get("mask_area") == matched_area
    work_per_step = (2 if getattr(objective, "masks_both_views", False) else 1) * share
    record.status, record.failure = ("ok", None) if failure is None else ("failed", failure)
    record.budget = settings.budget
    record.steps = state.step
    record.passes_per_image = state.encoder_images / max(1, state.step * batch_size)
    record.encoder_passes = state.encoder_images
    record.mask_model_share = share
    # counted work in encoder-pass units: the passes, plus the occlusion model's forward and backward per image and step
    record.work = state.encoder_images + state.step * batch_size * work_per_step
    record.final_loss = state.losses[-1] if state.losses else None
    record.curve, record.losses, record.mask_losses = state.curve, state.losses, state.mask_losses
    record.train_seconds, record.fit_seconds, record.mask_seconds = state.train_seconds, fit_seconds, state.mask_seconds
    record.eval_seconds, record.probe_seconds = state.eval_seconds, probe_seconds
    record.wall_seconds = state.train_seconds + fit_seconds + state.eval_seconds + (time.perf_counter() - probe_start)
    record.key, record.run, record.device = identity.key, folder.name, distributed.describe(device)
    record.threads, record.versions, record.commit = provenance.threads(), provenance.versions(), provenance.git_commit()
    atomic_torch_save(
        {"encoder": encoder.state_dict(), "strategy": strategy.state_dict() if isinstance(strategy, torch.nn.Module) else None},
        folder / "model.pt",
    )
    atomic_write_json(folder / "metrics.json", record_document(record))
    (folder / "checkpoint.pt").unlink(missing_ok=True)
    if record.ok:
        log(f"linear {record.linear_acc:.3f} knn {record.knn_acc:.3f} in {record.wall_seconds:.1f}s")
    return record, status


__all__ = ["RunIdentity", "build_models", "build_strategy", "execute_run", "fit_strategy", "pick_device", "run_name"]
