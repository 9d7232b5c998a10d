"""Everything a comparison folder holds besides its runs: results, summary, report and figures.

``write_outputs`` is called at the end of ``adios compare`` and by ``adios report`` (without training).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from adios.reporting.figures import accuracy_figure, compute_figure, loss_figure
from adios.reporting.tables import markdown_table, summarise, summary_csv, verdicts
from adios.runner.store import atomic_write_json, atomic_write_text

# Per-step data stays in each run's metrics.json; the comparison files hold one flat record per run.
PER_STEP_FIELDS = ("losses", "mask_losses")
FIGURES = {"accuracy": "accuracy.png", "compute": "compute.png", "losses": "losses.png", "masks": "masks.png"}


def flat_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its per-step lists, for results.json and results.csv."""
    return {k: v for k, v in record.items() if k not in PER_STEP_FIELDS}


def records_csv(records: list[dict[str, Any]]) -> str:
    """The records as CSV text, one row per run; nested values as their Python text."""
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def load_records(out: Path) -> list[dict[str, Any]]:
    """The records of a results folder, from ``results.json``."""
    return json.loads((out / "results.json").read_text())


def run_metrics(out: Path, record: dict[str, Any]) -> dict[str, Any]:
    """A run's full metrics (with per-step losses) from its folder; the record itself if the folder is gone."""
    path = out / "runs" / record.get("run", "") / "metrics.json"
    return json.loads(path.read_text()) if record.get("run") and path.exists() else record


def loss_curves(out: Path, records: list[dict[str, Any]]) -> dict[str, list[list[float]]]:
    curves: dict[str, list[list[float]]] = {}
    for s in summarise(records):
        if s.strategy == "random-init":
            continue
        label = f"{s.strategy} · {s.objective} · {s.encoder}"
        curves[label] = [run_metrics(out, r).get("losses", []) for r in s.records]
    return curves


def setup_lines(info: dict[str, Any], records: list[dict[str, Any]]) -> list[str]:
    base = info.get("base", {})
    seeds = info.get("seeds", sorted({r["seed"] for r in records}))
    area = base.get("mask_options", {}).get("mask_area")
    matched = info.get("match_area")
    if matched is not None:
        areas = f"matched at {matched} for every static strategy"
    elif area is not None:
        areas = f"each static strategy at {area} (not matched across strategies; see the `hidden` column)"
    else:
        areas = "each strategy at its own default (not matched; see the `hidden` column)"
    lines = [
        f"- **Dataset:** `{base.get('dataset')}` at {base.get('image_size')} px, {base.get('n_train') or 'all'} training and "
        f"{base.get('n_test') or 'all'} test images.",
        f"- **Encoders:** {', '.join(info.get('encoders', []))}; **objectives:** {', '.join(info.get('objectives', []))}.",
        f"- **Training:** {base.get('epochs')} epochs, batch {base.get('batch_size')}, {base.get('optimizer')} at lr "
        f"{base.get('lr')} (warmup {base.get('warmup')}, cosine), weight decay {base.get('weight_decay')}, "
        f"crop scale {base.get('crop_scale')}, {base.get('precision')}.",
        f"- **Seeds:** {', '.join(map(str, seeds))} (paired: every strategy sees the same images, views and order per seed).",
        f"- **Mask areas:** {areas}.",
        f"- **Preset:** `{info.get('preset', 'quick')}`; device {records[0].get('device', '?') if records else '?'}.",
    ]
    return lines


def report_markdown(out: Path, records: list[dict[str, Any]], info: dict[str, Any], baseline: str = "none") -> str:
    """``report.md``: setup, table, one sentence per strategy, figures."""
    lines = ["# adios comparison", "", "## Setup", "", *setup_lines(info, records), "", "## Results", ""]
    lines += [markdown_table(records, baseline), ""]
    lines += [
        f"Mean ± std over seeds. Δ is the paired difference against `{baseline}` (same seed), ± the half-width of its 95% "
        "t interval; `*` marks intervals that exclude zero. kNN uses k = 20. `occluded` is the clean linear probe scored "
        "on test images covered by held-out occluders. `hidden` is the mean hidden fraction of the masks on test images, "
        "`pieces` their connected components, `empty/full` the share of masks that hide nothing or everything, `object IoU` the mean best-match IoU of the mask segments with the objects, "
        f"`passes` the encoder forward passes per training image per step, and `cost` the wall time relative to `{baseline}`.",
        "",
        "## Findings",
        "",
    ]
    lines += [f"- {sentence}" for sentence in verdicts(records, baseline)] or ["- (no strategies besides the baseline)"]
    lines += ["", "## Figures", ""]
    for name, file in FIGURES.items():
        if (out / file).exists():
            lines += [f"![{name}]({file})", ""]
    return "\n".join(lines)


def write_outputs(out: Path, records: list[dict[str, Any]], info: dict[str, Any], baseline: str = "none", gallery=None) -> None:
    """Write results.json/csv, summary.csv, the figures and report.md (all atomically).

    ``gallery`` is an optional callable ``(path) -> None`` that renders the mask gallery.
    """
    flat = [flat_record(r) for r in records]
    atomic_write_json(out / "results.json", flat)
    atomic_write_text(out / "results.csv", records_csv(flat))
    atomic_write_text(out / "summary.csv", summary_csv(flat, baseline))
    accuracy_figure(flat, out / FIGURES["accuracy"], baseline)
    compute_figure(flat, out / FIGURES["compute"], baseline)
    loss_figure(loss_curves(out, flat), out / FIGURES["losses"])
    if gallery is not None:
        gallery(out / FIGURES["masks"])
    atomic_write_text(out / "report.md", report_markdown(out, flat, info, baseline))


def rebuild_outputs(out: Path, records: list[dict[str, Any]], info: dict[str, Any], baseline: str = "none") -> None:
    """Rewrite summary, figures and report.md of a finished folder (``adios report``), without training.

    The mask gallery is redrawn when the dataset can be loaded; it uses the trained weights saved
    in the folder's runs.
    """
    from adios.data import load_dataset
    from adios.errors import UserError
    from adios.reporting.gallery import gallery_renderer

    base = info.get("base", {})
    strategies = info.get("strategies", [])  # the reference rows are listed apart, under "references"
    gallery = None
    if base and strategies:
        try:
            data = load_dataset(
                base["dataset"], base.get("data_dir"), base["image_size"], base.get("n_train"), base.get("n_test")
            )
            gallery = gallery_renderer(data, strategies, (info.get("seeds") or [0])[0], base.get("mask_options"), out)
        except UserError:  # the data folder moved: keep the gallery that is there
            gallery = None
    write_outputs(out, records, info, baseline, gallery=gallery)
