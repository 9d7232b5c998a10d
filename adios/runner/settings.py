"""The settings of one run, the presets, validation, and the run key.

Every field of :class:`RunSettings` has a working default, a help text and a group; the CLI makes
one flag per field from them (``adios/cli.py`` declares none by hand). A preset fills in a coherent
set of values per objective and encoder; values the user gives override it. The effective settings
are saved next to every result, and :meth:`RunSettings.validate` rejects bad values with a one-line
:class:`~adios.errors.UserError` naming the flag and the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from adios.engine.encoders import STEMS
from adios.engine.objectives.simsiam import TERMS as SIMSIAM_TERMS
from adios.errors import UserError

#: Groups of fields: the run key of a reference row that does not train leaves out every group but these.
UNTRAINED_GROUPS = ("what", "data", "model", "speed")


def setting(default: Any, help: str, group: str, *, flag: bool = True, factory: Any = None) -> Any:
    """A settings field with its CLI help text and its group (for the run key)."""
    metadata = {"help": help, "group": group, "flag": flag}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class RunSettings:
    """Everything that determines one run's numbers."""

    # what is compared (set per run by the comparison grid; not CLI flags of their own)
    dataset: str = setting("shapes", "Dataset (see `adios list`).", "what")
    strategy: str = setting("none", "Mask strategy.", "what", flag=False)
    objective: str = setting("simclr", "SSL objective.", "what", flag=False)
    encoder: str = setting("resnet-tiny", "Encoder.", "what", flag=False)
    seed: int = setting(0, "Seed of data order, views, masks and initialisation.", "what", flag=False)
    reference: str | None = setting(None, "A reference row (random-init, supervised) instead of a strategy.", "what", flag=False)
    # data
    data_dir: str | None = setting(None, "Folder holding a real dataset (cifar10, cifar100, stl10, imagefolder).", "data")
    image_size: int = setting(32, "Image side in pixels.", "data")
    n_train: int | None = setting(10_000, "Training images to use (the first N).", "data")
    n_test: int | None = setting(2_000, "Test images to use (the first N).", "data")
    unlabeled: bool = setting(
        False, "Add the dataset's unlabeled split to the self-supervised pool (stl10); probes use the labelled splits.", "data"
    )
    # encoder
    stem: str = setting(
        "small",
        "ResNet stem: small (3x3, no max-pool: CIFAR-style) or imagenet (7x7 stride 2 + max-pool, as the published STL-10 runs).",
        "model",
    )
    patch_size: int | None = setting(None, "ViT patch size in pixels (0: image size / 8).", "model")
    # optimisation
    epochs: int = setting(10, "Training epochs.", "train")
    batch_size: int = setting(128, "Batch size.", "train")
    optimizer: str = setting("adamw", "Optimiser (see `adios list`).", "train")
    lr: float = setting(1e-3, "Peak learning rate (linear warmup, then cosine decay).", "train")
    weight_decay: float = setting(1e-4, "Weight decay (not on biases and norms).", "train")
    warmup: float = setting(0.05, "Fraction of the steps with a linear learning-rate warmup.", "train")
    lars_clip: bool = setting(True, "LARS: cap the adaptive rate at the learning rate (the published grad_clip_lars).", "train")
    lars_eta: float = setting(0.02, "LARS trust coefficient.", "train")
    # objective
    temperature: float = setting(0.2, "SimCLR temperature.", "objective")
    proj_hidden: int | None = setting(512, "Projector hidden width.", "objective")
    proj_out: int | None = setting(128, "Projector output width.", "objective")
    pred_hidden: int | None = setting(512, "Predictor hidden width, BYOL and SimSiam.", "objective")
    ema_base: float = setting(
        0.99, "BYOL: the target's EMA momentum at the start (it rises to 1 on a cosine schedule).", "objective"
    )
    fixed_predictor_lr: bool = setting(
        False,
        "BYOL and SimSiam: keep the predictor's learning rate constant (no warmup or decay; SimSiam's published recipe).",
        "objective",
    )
    simsiam_terms: str = setting(
        "masked",
        "SimSiam's optional loss terms, a comma list of masked, clean, both-masked, or 'none' (docs/method.md; the published code's default is all three).",
        "objective",
    )
    # views
    crop_scale: tuple[float, float] = setting((0.5, 1.0), "RandomResizedCrop area range: LOW HIGH.", "views")
    jitter: float = setting(0.4, "Colour-jitter strength s (brightness, contrast, saturation s; hue s/4).", "views")
    # budget
    budget: str = setting(
        "epochs",
        "epochs: every strategy trains --epochs; compute: each gets the steps whose encoder passes match the baseline's at --epochs.",
        "budget",
    )
    budget_baseline: str = setting(
        "none", "The strategy whose passes set a compute budget (the comparison's baseline).", "budget", flag=False
    )
    # learning curves
    eval_every: int = setting(0, "Learning curve: a kNN probe every E epochs (0 = off).", "curve")
    curve_train: int = setting(2000, "Training images the learning-curve kNN uses (a fixed prefix).", "curve")
    curve_test: int = setting(1000, "Test images the learning-curve kNN uses (a fixed prefix).", "curve")
    # speed (no effect on what is computed beyond float rounding)
    precision: str = setting("bf16", "bf16 (autocast) or fp32.", "speed")
    channels_last: bool = setting(True, "channels_last memory format for convolutions.", "speed", flag=False)
    # mask-strategy options, passed to the strategies that take them (their own flags come from their constructors)
    mask_options: dict[str, Any] = setting(None, "Mask-strategy options.", "masks", flag=False, factory=dict)

    def replace(self, **changes: Any) -> RunSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names}
        return cls(**values)

    def validate(self) -> None:
        """Raise a :class:`UserError` naming the flag for a value no run can use."""
        for ok, message in _checks(self):
            if not ok:
                raise UserError(message)


def _checks(s: RunSettings) -> list[tuple[bool, str]]:
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    return [
        (
            isinstance(s.epochs, int) and s.epochs >= 1,
            f"--epochs must be >= 1, got {s.epochs} (random-init is the untrained reference row)",
        ),
        (isinstance(s.batch_size, int) and s.batch_size >= 2, f"--batch-size must be >= 2, got {s.batch_size}"),
        (isinstance(s.image_size, int) and s.image_size >= 8, f"--image-size must be at least 8, got {s.image_size}"),
        (number(s.lr) and s.lr > 0, f"--lr must be a number > 0, got {s.lr}"),
        (number(s.weight_decay) and s.weight_decay >= 0, f"--weight-decay must be >= 0, got {s.weight_decay}"),
        (number(s.warmup) and 0 <= s.warmup < 1, f"--warmup must be a fraction in [0, 1), got {s.warmup}"),
        (number(s.temperature) and s.temperature > 0, f"--temperature must be > 0, got {s.temperature}"),
        (number(s.jitter) and 0 <= s.jitter <= 1, f"--jitter must be in [0, 1], got {s.jitter}"),
        (s.n_train is None or s.n_train >= 2, f"--n-train must be >= 2, got {s.n_train}"),
        (s.n_test is None or s.n_test >= 1, f"--n-test must be >= 1, got {s.n_test}"),
        (s.precision in ("bf16", "fp32"), f"--precision must be bf16 or fp32, got {s.precision}"),
        (s.stem in STEMS, f"--stem must be one of {', '.join(STEMS)}, got '{s.stem}'"),
        (
            s.patch_size is None or (isinstance(s.patch_size, int) and s.patch_size >= 1),
            f"--patch-size must be >= 1, got {s.patch_size}",
        ),
        (number(s.lars_eta) and s.lars_eta > 0, f"--lars-eta must be a number > 0, got {s.lars_eta}"),
        (number(s.ema_base) and 0 <= s.ema_base < 1, f"--ema-base must be in [0, 1), got {s.ema_base}"),
        (
            all(t in SIMSIAM_TERMS for t in simsiam_terms(s.simsiam_terms)),
            f"--simsiam-terms takes a comma list of {', '.join(SIMSIAM_TERMS)}, or 'none'; got '{s.simsiam_terms}'",
        ),
        (s.budget in ("epochs", "compute"), f"--budget must be epochs or compute, got {s.budget}"),
        (
            isinstance(s.eval_every, int) and s.eval_every >= 0,
            f"--eval-every must be >= 0 (0 = no learning curve), got {s.eval_every}",
        ),
        (
            s.curve_train >= 1 and s.curve_test >= 1,
            f"--curve-train and --curve-test must be >= 1, got {s.curve_train}, {s.curve_test}",
        ),
        (
            len(s.crop_scale) == 2 and 0 < s.crop_scale[0] <= s.crop_scale[1] <= 1,
            f"--crop-scale must satisfy 0 < low <= high <= 1, got {s.crop_scale}",
        ),
        (
            all(w is None or (isinstance(w, int) and w >= 1) for w in (s.proj_hidden, s.proj_out, s.pred_hidden)),
            f"--proj-hidden, --proj-out and --pred-hidden must be positive integers, got {s.proj_hidden}, {s.proj_out}, {s.pred_hidden}",
        ),
    ]


def simsiam_terms(text: str) -> tuple[str, ...]:
    """``"masked,clean"`` -> ``("masked", "clean")``; ``"none"`` -> ``()`` (only the always-on masked pair)."""
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    return () if names == ("none",) else names


def flag_fields() -> list[dataclasses.Field]:
    """The fields that are CLI flags, in declaration order."""
    return [f for f in dataclasses.fields(RunSettings) if f.metadata.get("flag")]


def run_key(settings: RunSettings, strategy_options: dict[str, Any] | None, trains: bool = True) -> str:
    """A short hash of what can change a run's numbers, and nothing else.

    ``strategy_options`` are the options the strategy is built with, its defaults included (so a
    strategy whose default changes gets a new run, never a silent reuse, and ``none``, which takes
    no option, is not retrained for a new ``--match-area``). A run that does not train (``trains``
    false: random-init) depends only on the data, the encoder and the seed. The budget counts only for
    a strategy that a compute budget changes (not for the baseline that sets it), the curve's subset
    only with a curve.
    """
    values = settings.to_dict()
    values.pop("mask_options")
    groups = {f.name: f.metadata["group"] for f in dataclasses.fields(RunSettings)}
    if not trains:
        values = {k: v for k, v in values.items() if groups[k] in UNTRAINED_GROUPS}
        values.pop("strategy", None)
    else:
        if settings.budget == "epochs" or settings.strategy == settings.budget_baseline:
            # the budget's baseline trains its epochs under either budget: one run serves both
            values.pop("budget_baseline")
            values.pop("budget")
        if settings.eval_every == 0:
            values.pop("curve_train")
            values.pop("curve_test")
    if settings.reference is None:
        values.pop("reference", None)
    text = json.dumps({"settings": values, "strategy_options": strategy_options or {}}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
