"""The run record: what one run measured, as a typed, versioned dataclass.

A comparison folder's ``results.json`` is ``{"schema_version": N, "records": [...]}``; every run's
``metrics.json`` holds one record with the per-step lists too. The report, the figures and the CLI
read the fields of :class:`RunRecord`, never string keys. Records of schema 1 (the first version,
a bare list) load through :func:`migrate`; a newer schema is a one-line user error naming it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adios.errors import UserError

SCHEMA_VERSION = 2

#: Fields that hold one value per training step: kept in each run's metrics.json, left out of results.json.
PER_STEP_FIELDS = ("losses", "mask_losses")


@dataclass
class RunRecord:
    """One run's numbers. ``kind`` is "strategy", "control" (a strategy built to do harm) or "reference"."""

    # what ran
    strategy: str  # the table row: a strategy's name, or a reference row's (random-init, supervised)
    objective: str
    encoder: str
    dataset: str
    seed: int
    kind: str = "strategy"
    # outcome: "ok", or "failed" with the reason (a NaN loss, collapsed features); failed runs leave the means
    status: str = "ok"
    failure: str | None = None
    # probes on frozen features
    linear_acc: float | None = None
    knn_acc: float | None = None
    knn200_acc: float | None = None
    occluded_linear_acc: float | None = None
    occluded_fraction: float | None = None
    cluster_nmi: float | None = None
    cluster_ari: float | None = None
    cluster_fmi: float | None = None
    feature_std: float | None = None  # median over dimensions of the test features' std (collapse shows as ~0)
    # masks, measured on test images; ``hidden_fraction`` is measured, ``target_area`` what the strategy aimed at
    hidden_fraction: float | None = None
    hidden_fraction_std: float | None = None
    mask_components: float | None = None
    mask_empty: float | None = None
    mask_full: float | None = None
    ari: float | None = None
    ari_fg: float | None = None
    best_iou: float | None = None
    target_area: float | None = None
    area_matched: bool = False
    mask_options: dict[str, Any] = field(default_factory=dict)
    # training and its counted work
    budget: str = "epochs"
    steps: int = 0
    passes_per_image: float = 0.0
    encoder_passes: int = 0
    mask_model_share: float = 0.0
    work: float = 0.0
    final_loss: float | None = None
    curve: list[dict[str, Any]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    mask_losses: list[float] = field(default_factory=list)
    # time (seconds)
    wall_seconds: float = 0.0
    train_seconds: float = 0.0
    fit_seconds: float = 0.0
    mask_seconds: float = 0.0
    eval_seconds: float = 0.0
    probe_seconds: float = 0.0
    # provenance
    key: str = ""
    run: str = ""
    device: str = ""
    threads: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    commit: str | None = None

    @property
    def is_reference(self) -> bool:
        return self.kind == "reference"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def value(self, name: str) -> float | None:
        """A numeric field by name (None when unset, not a number, or the run failed)."""
        value = getattr(self, name)
        if not self.ok or not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        return None if math.isnan(value) else float(value)

    def to_dict(self, per_step: bool = True) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        if not per_step:
            for name in PER_STEP_FIELDS:
                values.pop(name)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def migrate(values: dict[str, Any], version: int) -> dict[str, Any]:
    """A record of an older schema, brought to :data:`SCHEMA_VERSION`."""
    values = dict(values)
    if version < 2:  # schema 1: `mask_area` was the measured fraction; reference rows had no objective ("-")
        values["hidden_fraction"] = values.pop("mask_area", None)
        values["hidden_fraction_std"] = values.pop("mask_area_std", None)
        values["kind"] = "reference" if values.get("objective") == "-" else "strategy"
    return values


def parse_results(data: Any, source: str) -> list[RunRecord]:
    """Records from the parsed contents of a ``results.json`` (any schema this version can read)."""
    if isinstance(data, list):  # schema 1
        version, rows = 1, data
    elif isinstance(data, dict) and isinstance(data.get("records"), list):
        version, rows = data.get("schema_version"), data["records"]
    else:
        raise UserError(f"{source} is not an adios results file; re-run `adios compare --out DIR`")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UserError(
            f"{source} has results schema version {version}, newer than this adios reads ({SCHEMA_VERSION}); upgrade adios"
        )
    try:
        return [RunRecord.from_dict(migrate(row, version)) for row in rows]
    except (TypeError, AttributeError) as error:
        raise UserError(f"{source} is not an adios results file ({error}); re-run `adios compare --out DIR`") from None


def results_document(records: list[RunRecord]) -> dict[str, Any]:
    """What ``results.json`` holds: the schema version and the records without their per-step lists."""
    return {"schema_version": SCHEMA_VERSION, "records": [r.to_dict(per_step=False) for r in records]}


def read_json(path: Path) -> Any:
    """A JSON file's contents; a one-line user error for a corrupt one."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(
            f"{path} cannot be read ({type(error).__name__}); delete it, or re-run the command that wrote it"
        ) from None


def read_record(path: Path) -> RunRecord:
    """One run's record from its ``metrics.json``."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path} is not an adios run record; delete its run folder to redo the run")
    version = data.pop("schema_version", 1)
    return parse_results({"schema_version": version, "records": [data]}, str(path))[0]


def record_document(record: RunRecord) -> dict[str, Any]:
    """What a run's ``metrics.json`` holds: the schema version and the full record."""
    return {"schema_version": SCHEMA_VERSION, **record.to_dict()}
