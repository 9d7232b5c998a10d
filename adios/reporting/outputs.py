"""Everything a comparison folder holds besides its runs: results, summary, report and figures.

``write_outputs`` is called at the end of ``adios compare`` (every shard) and by ``adios report``
(without training). Both read every finished run of the folder, so a sharded or interrupted
comparison is reported with what has finished, and the runs still missing are listed.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from adios.errors import UserError
from adios.reporting.figures import accuracy_figure, compute_figure, curve_figure, loss_figure
from adios.reporting.tables import (
    caption_lines,
    comparison_title,
    curve_sentences,
    markdown_table,
    summarise,
    summary_csv,
    verdicts,
)
from adios.runner.record import RunRecord, parse_results, read_json, read_record, results_document
from adios.runner.store import atomic_write_json, atomic_write_text

FIGURES = {
    "accuracy": "accuracy.png",
    "compute": "compute.png",
    "curves": "curves.png",
    "losses": "losses.png",
    "masks": "masks.png",
}


def records_csv(records: list[RunRecord]) -> str:
    """The records as CSV text, one row per run (per-step lists left out, nested values as JSON)."""
    rows = [r.to_dict(per_step=False) for r in records]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})
    return buffer.getvalue()


def load_folder(out: Path) -> tuple[list[RunRecord], dict[str, Any], list[str]]:
    """The finished records of a results folder, its comparison info, and the runs not finished.

    Reads every run the comparison planned (``comparison.json``), so an interrupted or sharded folder
    reports what has finished; falls back to ``results.json`` for folders of an older version.
    """
    info_path, results_path = out / "comparison.json", out / "results.json"
    if not out.is_dir():
        raise UserError(f"{out} is not a folder: pass a folder written by `adios compare --out DIR`")
    info = read_json(info_path) if info_path.exists() else {}
    if not isinstance(info, dict):
        raise UserError(f"{info_path} is not an adios comparison file; re-run `adios compare --out {out}`")
    if "runs" in info:
        records, missing = [], []
        for name in info["runs"]:
            if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
                raise UserError(f"{info_path} names a run '{name}' outside its runs/ folder; it is not an adios comparison file")
            path = out / "runs" / name / "metrics.json"
            if path.exists():
                records.append(read_record(path))
            else:
                missing.append(name)
        return records, info, missing
    if results_path.exists():
        return parse_results(read_json(results_path), str(results_path)), info, []
    raise UserError(f"{out} has no comparison.json or results.json: pass a folder written by `adios compare --out DIR`")


def run_losses(out: Path, record: RunRecord) -> list[float]:
    """A run's per-step losses from its folder (results.json leaves them out)."""
    if record.losses:
        return record.losses
    path = out / "runs" / record.run / "metrics.json"
    return read_record(path).losses if record.run and path.exists() else []


def provenance_warnings(records: list[RunRecord]) -> list[str]:
    """A line for each provenance field that differs between the folder's runs (versions, commit, device, threads)."""
    warnings = []
    fields = {
        "versions": lambda r: json.dumps(r.versions, sort_keys=True) if r.versions else None,
        "git commits": lambda r: r.commit,
        "devices": lambda r: r.device or None,
        "thread counts": lambda r: r.threads,
    }
    for label, get in fields.items():
        seen = {v for v in (get(r) for r in records) if v is not None}
        if len(seen) > 1:
            warnings.append(f"this folder mixes {label}: {'; '.join(sorted(map(str, seen)))} (numbers may not be comparable)")
    return warnings


def setup_lines(info: dict[str, Any], records: list[RunRecord]) -> list[str]:
    base = info.get("base", {})
    seeds = info.get("seeds", sorted({r.seed for r in records}))
    matched = info.get("match_area")
    rows = [s.strategy for s in summarise(records) if s.records and all(r.area_matched for r in s.records)]
    areas = (
        f"matched at {matched} for {', '.join(rows) or 'no row'}" if matched is not None else "each strategy at its own default"
    )
    budget = info.get("budget", base.get("budget", "epochs"))
    budget_text = (
        f"{base.get('epochs')} epochs for every strategy"
        if budget == "epochs"
        else f"equal compute: each strategy trains the steps whose encoder passes match `{info.get('baseline')}` at "
        f"{base.get('epochs')} epochs (passes counted; the occlusion model's own cost is not in the budget, see `cost`)"
    )
    return [
        f"- **Dataset:** `{base.get('dataset')}` at {base.get('image_size')} px, {base.get('n_train') or 'all'} training and "
        f"{base.get('n_test') or 'all'} test images.",
        f"- **Encoders:** {', '.join(info.get('encoders', []))}; **objectives:** {', '.join(info.get('objectives', []))}.",
        f"- **Training:** {base.get('optimizer')} at lr {base.get('lr')} (warmup {base.get('warmup')}, cosine), weight decay "
        f"{base.get('weight_decay')}, batch {base.get('batch_size')}, crop scale {base.get('crop_scale')}, {base.get('precision')}.",
        f"- **Budget:** {budget_text}.",
        f"- **Seeds:** {', '.join(map(str, seeds))} (paired: every strategy sees the same images, views and order per seed).",
        f"- **Mask areas:** {areas}.",
        f"- **Preset:** `{info.get('preset', 'quick')}`; device {records[0].device if records else '?'}.",
    ]


def report_markdown(out: Path, records: list[RunRecord], info: dict[str, Any], baseline: str, missing: list[str]) -> str:
    """``report.md``: setup, table, one sentence per strategy with its power, learning curves, figures."""
    lines = ["# adios comparison", "", "## Setup", "", *setup_lines(info, records), ""]
    warnings = provenance_warnings(records)
    if missing or warnings:
        lines += ["## Warnings", ""]
        if missing:
            lines += [f"- {len(missing)} planned run{'s are' if len(missing) > 1 else ' is'} not finished: {', '.join(missing)}"]
        lines += [f"- {w}" for w in warnings]
        lines.append("")
    lines += ["## Results", "", markdown_table(records, baseline), ""]
    lines += [f"{line}." for line in caption_lines(records, baseline)]
    lines += [
        "",
        "How to read Δ: a difference whose interval includes zero is *not shown* at this number of seeds, which is not "
        "the same as *no effect*; the minimum detectable effect says how large a true difference these seeds would "
        "have caught 80% of the time.",
        "",
        "## Findings",
        "",
    ]
    lines += [f"- {sentence}" for sentence in verdicts(records, baseline)] or ["- (no strategies besides the baseline)"]
    curves = curve_sentences(records, baseline)
    if curves:
        lines += ["", "## Learning curves", ""] + [f"- {sentence}" for sentence in curves]
    lines += ["", "## Figures", ""]
    for name, file in FIGURES.items():
        if (out / file).exists():
            lines += [f"![{name}]({file})", ""]
    return "\n".join(lines)


def write_outputs(
    out: Path,
    records: list[RunRecord],
    info: dict[str, Any],
    baseline: str = "none",
    gallery=None,
    missing: list[str] | None = None,
) -> None:
    """Write results.json/csv, summary.csv, the figures and report.md (all atomically).

    ``gallery`` is an optional callable ``(path) -> None`` that renders the mask gallery.
    """
    atomic_write_json(out / "results.json", results_document(records))
    atomic_write_text(out / "results.csv", records_csv(records))
    atomic_write_text(out / "summary.csv", summary_csv(records, baseline))
    accuracy_figure(records, out / FIGURES["accuracy"], baseline)
    compute_figure(records, out / FIGURES["compute"], baseline)
    if any(r.curve for r in records):
        curve_figure(records, out / FIGURES["curves"], baseline)
    loss_figure(
        {
            s.label: [run_losses(out, r) for r in s.ok]
            for s in summarise(records, baseline)
            if not s.is_reference or any(r.steps for r in s.records)
        },
        out / FIGURES["losses"],
    )
    if gallery is not None:
        gallery(out / FIGURES["masks"])
    atomic_write_text(out / "report.md", report_markdown(out, records, info, baseline, missing or []))


def rebuild_outputs(out: Path, records: list[RunRecord], info: dict[str, Any], baseline: str, missing: list[str]) -> None:
    """Rewrite results, figures and report.md of a folder (``adios report``), without training.

    The mask gallery is redrawn when the dataset can be loaded; it uses the trained weights saved
    in the folder's runs.
    """
    from adios.data import load_dataset
    from adios.reporting.gallery import gallery_renderer

    base = info.get("base", {})
    strategies = info.get("strategies", [])
    gallery = None
    if base and strategies:
        try:
            data = load_dataset(
                base["dataset"],
                base.get("data_dir"),
                base["image_size"],
                base.get("n_train"),
                base.get("n_test"),
                unlabeled=base.get("unlabeled", False),
            )
            gallery = gallery_renderer(data, strategies, (info.get("seeds") or [0])[0], base.get("mask_options"), out)
        except UserError:  # the data folder moved: keep the gallery that is there
            gallery = None
    write_outputs(out, records, info, baseline, gallery=gallery, missing=missing)


def report_folder(console, folder: Path, format: str, baseline: str | None, width: int | None) -> None:
    """``adios report``: rebuild a folder's results files and figures, warn about what is missing or mixed, print the table."""
    import sys

    from adios.reporting.progress import print_results

    if format not in ("table", "markdown", "csv", "json"):
        raise UserError(f"--format must be table, markdown, csv or json, got '{format}'")
    records, info, missing = load_folder(folder)
    if not records:
        raise UserError(f"{folder} has no finished run yet; run `adios compare --out {folder}` (again) first")
    baseline = baseline or info.get("baseline", "none")
    rebuild_outputs(folder, records, info, baseline, missing)
    notes = provenance_warnings(records) + (
        [f"{len(missing)} planned runs are not finished: {', '.join(missing)}"] if missing else []
    )
    for warning in notes:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    if format == "table":
        print_results(console, records, info, baseline, width=width)
    elif format == "markdown":
        sys.stdout.write(markdown_table(records, baseline) + "\n")
    elif format == "csv":
        sys.stdout.write(summary_csv(records, baseline))
    else:
        sys.stdout.write(json.dumps(results_document(records), indent=2) + "\n")


__all__ = ["FIGURES", "comparison_title", "load_folder", "rebuild_outputs", "report_folder", "write_outputs"]
