"""Summaries of a comparison: one row per strategy x objective x encoder, aggregated over seeds.

Every metric is shown as mean ± std over seeds. Each strategy also gets its paired difference
against a baseline strategy (``none`` by default), matched by seed, with a 95% t interval; rows
whose interval excludes zero are marked with ``*``.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.table import Table

from adios.runner.references import REFERENCES
from eval.stats import PairedDifference, mean_std, paired_difference

#: (record key, column label, higher is better) of the accuracy metrics.
ACCURACY = [("linear_acc", "linear"), ("knn_acc", "kNN"), ("occluded_linear_acc", "occluded")]
#: Metrics that get a paired difference against the baseline.
DELTA_METRICS = ["linear_acc", "knn_acc", "occluded_linear_acc"]
SUMMARY_METRICS = [
    "linear_acc",
    "knn_acc",
    "knn200_acc",
    "occluded_linear_acc",
    "mask_area",
    "mask_components",
    "mask_empty",
    "mask_full",
    "ari",
    "ari_fg",
    "best_iou",
    "passes_per_image",
    "mask_seconds",
    "wall_seconds",
    "train_seconds",
    "fit_seconds",
]


@dataclass
class Summary:
    """The runs of one strategy x objective x encoder."""

    strategy: str
    objective: str
    encoder: str
    records: list[dict[str, Any]]
    deltas: dict[str, PairedDifference] = field(default_factory=dict)
    cost_ratio: float | None = None

    @property
    def is_reference(self) -> bool:
        return self.strategy in REFERENCES

    @property
    def seeds(self) -> list[int]:
        return [r["seed"] for r in self.records]

    def values(self, key: str) -> list[float]:
        return [float(r[key]) for r in self.records if r.get(key) is not None]

    def stat(self, key: str) -> tuple[float, float]:
        return mean_std(self.values(key))

    def by_seed(self, key: str) -> dict[int, float]:
        return {r["seed"]: float(r[key]) for r in self.records if r.get(key) is not None}


def summarise(records: list[dict[str, Any]], baseline: str = "none") -> list[Summary]:
    """Group records and attach paired differences against ``baseline`` (same objective, encoder and seed)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[(record["strategy"], record["objective"], record["encoder"])].append(record)
    summaries = [Summary(s, o, e, sorted(rs, key=lambda r: r["seed"])) for (s, o, e), rs in groups.items()]
    index = {(s.strategy, s.objective, s.encoder): s for s in summaries}
    for summary in summaries:
        base = index.get((baseline, summary.objective, summary.encoder))
        if base is None or summary.is_reference or base is summary:
            continue
        for key in DELTA_METRICS:
            mine, theirs = summary.by_seed(key), base.by_seed(key)
            common = sorted(set(mine) & set(theirs))
            if common:
                summary.deltas[key] = paired_difference([mine[s] for s in common], [theirs[s] for s in common])
        base_wall = base.stat("wall_seconds")[0]
        if base_wall > 0:
            summary.cost_ratio = summary.stat("wall_seconds")[0] / base_wall
    return sorted(summaries, key=lambda s: (s.encoder, s.objective if not s.is_reference else "", not s.is_reference))


def fmt(mean: float, std: float, n: int, digits: int = 3) -> str:
    """``0.512 ± 0.013`` (``0.512`` for one value, ``—`` for none)."""
    if math.isnan(mean):
        return "—"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def fmt_delta(delta: PairedDifference | None) -> str:
    """``+0.051 ± 0.032*``: mean paired difference, half-width of the 95% interval, * if it excludes 0."""
    if delta is None:
        return "—"
    if delta.low is None:
        return f"{delta.mean:+.3f}"
    half = (delta.high - delta.low) / 2
    return f"{delta.mean:+.3f} ± {half:.3f}{'*' if delta.significant else ''}"


def _columns(summaries: list[Summary], baseline: str) -> tuple[list[str], list[list[str]], dict[int, int]]:
    """Header, cells and, per column, the row index of the best strategy (for highlighting)."""
    trained = [s for s in summaries if not s.is_reference]
    show_objective = len({s.objective for s in trained}) > 1
    show_encoder = len({s.encoder for s in summaries}) > 1
    has_agreement = any(s.values("best_iou") for s in summaries)
    show_seeds = len({len(s.records) for s in summaries}) > 1
    header = ["strategy"] + (["objective"] if show_objective else []) + (["encoder"] if show_encoder else [])
    header += (["seeds"] if show_seeds else []) + ["linear", "Δ linear", "kNN", "Δ kNN", "occluded", "Δ occluded"]
    header += (
        ["hidden", "pieces", "empty/full"]
        + (["object IoU"] if has_agreement else [])
        + ["passes", "mask time", "wall time", "cost"]
    )
    rows, best = [], {}
    for s in summaries:
        n = len(s.records)
        cells = [s.strategy] + ([s.objective] if show_objective else []) + ([s.encoder] if show_encoder else [])
        cells += ([str(n)] if show_seeds else []) + [
            fmt(*s.stat("linear_acc"), n),
            fmt_delta(s.deltas.get("linear_acc")),
            fmt(*s.stat("knn_acc"), n),
            fmt_delta(s.deltas.get("knn_acc")),
            fmt(*s.stat("occluded_linear_acc"), len(s.values("occluded_linear_acc"))),
            fmt_delta(s.deltas.get("occluded_linear_acc")),
            fmt(*s.stat("mask_area"), len(s.values("mask_area")), 2),
            fmt(*s.stat("mask_components"), len(s.values("mask_components")), 1),
            f"{s.stat('mask_empty')[0]:.0%}/{s.stat('mask_full')[0]:.0%}" if s.values("mask_empty") else "—",
        ]
        if has_agreement:
            cells.append(fmt(*s.stat("best_iou"), len(s.values("best_iou")), 2))
        cells += [
            f"{s.stat('passes_per_image')[0]:.1f}" if s.values("passes_per_image") else "—",
            f"{s.stat('mask_seconds')[0]:.1f}s" if s.values("mask_seconds") else "—",
            f"{s.stat('wall_seconds')[0]:.0f}s",
            f"{s.cost_ratio:.1f}×" if s.cost_ratio is not None else ("1.0×" if s.strategy == baseline else "—"),
        ]
        rows.append(cells)
    for key, label in ACCURACY:
        column = header.index(label)
        candidates = [(s.stat(key)[0], i) for i, s in enumerate(summaries) if not s.is_reference and s.values(key)]
        if candidates:
            best[column] = max(candidates)[1]
    return header, rows, best


def comparison_title(info: dict[str, Any]) -> str:
    """``shapes · simclr · resnet-tiny · 10 epochs · 3 seeds · static masks at 0.25 of the image``."""
    base, seeds, area = info["base"], len(info["seeds"]), info.get("match_area")
    matched = f"static masks at {area:g} of the image" if area is not None else "areas not matched"
    parts = [base["dataset"], ", ".join(info["objectives"]), ", ".join(info["encoders"]), f"{base['epochs']} epochs"]
    return " · ".join([*parts, f"{seeds} seed{'s' if seeds > 1 else ''}", matched])


def results_table(records: list[dict[str, Any]], title: str = "adios compare", baseline: str = "none") -> Table:
    """The rich table printed by ``adios compare`` and ``adios report``."""
    summaries = summarise(records, baseline)
    header, rows, best = _columns(summaries, baseline)
    caption = (
        f"mean ± std over seeds · Δ: paired difference vs {baseline} by seed, ± half-width of the 95% t interval, "
        "* = interval excludes 0 (one seed: no interval) · best strategy per accuracy column in bold · kNN: k = 20 · "
        "occluded: the clean linear probe on test images with held-out occluders · hidden: mean hidden fraction · "
        "pieces: connected components per mask · empty/full: masks that hide nothing / everything · "
        "passes: encoder passes per image per step · "
        f"cost: wall time relative to {baseline}"
    )
    table = Table(
        title=title, caption=caption, header_style="bold", title_style="bold", box=box.SIMPLE_HEAD, caption_justify="left"
    )
    for i, name in enumerate(header):
        width = max(len(cells[i]) for cells in rows) if rows else 1
        table.add_column(name, justify="left" if i == 0 else "right", min_width=width)
    for r, cells in enumerate(rows):
        styled = [f"[bold green]{c}[/bold green]" if best.get(i) == r else c for i, c in enumerate(cells)]
        style = "dim" if summaries[r].is_reference else None
        table.add_row(*styled, style=style)
    return table


def markdown_table(records: list[dict[str, Any]], baseline: str = "none") -> str:
    """The same table in GitHub markdown, best values in bold."""
    summaries = summarise(records, baseline)
    header, rows, best = _columns(summaries, baseline)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for r, cells in enumerate(rows):
        lines.append("| " + " | ".join(f"**{c}**" if best.get(i) == r else c for i, c in enumerate(cells)) + " |")
    return "\n".join(lines)


def summary_csv(records: list[dict[str, Any]], baseline: str = "none") -> str:
    """One row per strategy x objective x encoder: mean and std of every metric, and the paired differences."""
    buffer = io.StringIO()
    columns = ["strategy", "objective", "encoder", "seeds"]
    for key in SUMMARY_METRICS:
        columns += [f"{key}_mean", f"{key}_std"]
    for key in DELTA_METRICS:
        columns += [f"delta_{key}", f"delta_{key}_low", f"delta_{key}_high"]
    columns.append("cost_ratio")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for s in summarise(records, baseline):
        row: dict[str, Any] = {"strategy": s.strategy, "objective": s.objective, "encoder": s.encoder, "seeds": len(s.records)}
        for key in SUMMARY_METRICS:
            if s.values(key):
                row[f"{key}_mean"], row[f"{key}_std"] = s.stat(key)
        for key, delta in s.deltas.items():
            row[f"delta_{key}"], row[f"delta_{key}_low"], row[f"delta_{key}_high"] = delta.mean, delta.low, delta.high
        row["cost_ratio"] = s.cost_ratio
        writer.writerow(row)
    return buffer.getvalue()


def verdicts(records: list[dict[str, Any]], baseline: str = "none") -> list[str]:
    """One sentence per strategy: did it beat the baseline's linear accuracy beyond seed noise?"""
    sentences = []
    for s in summarise(records, baseline):
        if s.is_reference or s.strategy == baseline:
            continue
        label = f"`{s.strategy}` ({s.objective}, {s.encoder})"
        delta = s.deltas.get("linear_acc")
        mean, _ = s.stat("linear_acc")
        if delta is None:
            sentences.append(f"{label}: linear {mean:.3f}; no `{baseline}` run with the same seeds to compare against.")
        elif delta.low is None:
            sentences.append(
                f"{label}: linear {mean:.3f}, {delta.mean:+.3f} against `{baseline}` on one seed; one seed gives no interval, "
                "so this cannot be told apart from noise (use --seeds 3 or more)."
            )
        else:
            span = f"{delta.mean:+.3f} (95% CI {delta.low:+.3f} to {delta.high:+.3f}, {delta.n} seeds)"
            if delta.significant and delta.mean > 0:
                verdict = f"beat `{baseline}` beyond noise"
            elif delta.significant:
                verdict = f"was worse than `{baseline}` beyond noise"
            else:
                verdict = f"did not differ from `{baseline}` beyond noise"
            sentences.append(f"{label} {verdict}: linear {mean:.3f}, {span}.")
    return sentences
