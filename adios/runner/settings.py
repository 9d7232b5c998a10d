"""The settings of one run, the presets, and the run key.

Every field has a working default and a CLI flag. A preset fills in a coherent set of sizes; flags
given on the command line override it. The effective settings are saved next to every result.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from adios.errors import UserError


@dataclass(frozen=True)
class RunSettings:
    """Everything that determines one run's numbers (the run key hashes all of it)."""

    # what is compared
    dataset: str = "shapes"
    strategy: str = "none"
    objective: str = "simclr"
    encoder: str = "resnet-tiny"
    seed: int = 0
    # data
    data_dir: str | None = None
    image_size: int = 32
    n_train: int | None = 10_000
    n_test: int | None = 2_000
    # optimisation
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: float = 0.05
    # objective
    temperature: float = 0.2
    proj_hidden: int | None = 512
    proj_out: int | None = 128
    pred_hidden: int | None = 512
    # views
    crop_scale: tuple[float, float] = (0.5, 1.0)
    jitter: float = 0.4  # colour-jitter strength s: brightness, contrast, saturation s; hue s/4
    # budget: "epochs" trains every strategy for `epochs`; "compute" gives each strategy the steps that match
    # the encoder passes of `budget_baseline` trained for `epochs` (passes are counted, so this is deterministic)
    budget: str = "epochs"
    budget_baseline: str = "none"
    # learning curves: a kNN probe every `eval_every` epochs (0 = off) on the first `curve_train` training
    # and `curve_test` test images, the same subset for every strategy and seed
    eval_every: int = 0
    curve_train: int = 2000
    curve_test: int = 1000
    # speed (no effect on what is computed beyond float rounding)
    precision: str = "bf16"
    channels_last: bool = True
    # mask-strategy options, passed to the strategies that take them
    mask_options: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> RunSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names}
        return cls(**values)


PRESETS: dict[str, dict[str, Any]] = {
    # Sized for minutes on a 2-core CPU; README "How the quick preset was chosen" has the measurements.
    # Static strategies hide 25% (areas matched), ADIOS has N = 4 slots (1/4 each on average).
    "quick": {"mask_options": {"mask_area": 0.25, "n_masks": 4, "mask_channels": 16, "alpha_sparsity": 1.0, "mask_lr": 1e-4}},
    # The published STL-10 setting (method.md §3), for GPUs.
    "paper": {
        "dataset": "stl10",
        "encoder": "resnet18",
        "image_size": 96,
        "n_train": None,
        "n_test": None,
        "epochs": 400,
        "batch_size": 256,
        "optimizer": "lars",
        "lr": 0.3,
        "weight_decay": 1e-5,
        "warmup": 10 / 400,
        "temperature": 0.2,
        "proj_hidden": None,
        "proj_out": None,
        "pred_hidden": None,
        "crop_scale": (0.08, 1.0),
        "jitter": 0.8,
        # each static strategy at its published default area; ADIOS as published for STL-10
        "mask_options": {"n_masks": 6, "mask_channels": 64, "alpha_sparsity": 1.0, "mask_lr": 0.05, "mask_optimizer": "lars"},
    },
}


def preset(name: str) -> RunSettings:
    """The settings of a preset."""
    if name not in PRESETS:
        raise UserError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS)}")
    return RunSettings().replace(**PRESETS[name])
