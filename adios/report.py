"""The results table: one row per strategy x objective x encoder, aggregated over seeds."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.table import Table

from eval.stats import mean_std

REFERENCE_ORDER = {"random-init": 0, "supervised": 1}


@dataclass
class Row:
    """The runs of one strategy x objective x encoder, over seeds."""

    strategy: str
    objective: str
    encoder: str
    records: list[dict[str, Any]]

    def values(self, key: str) -> list[float]:
        return [float(r[key]) for r in self.records if r.get(key) is not None]

    def mean_std(self, key: str) -> tuple[float, float]:
        return mean_std(self.values(key))


def group_rows(records: list[dict[str, Any]]) -> list[Row]:
    """Group records by (strategy, objective, encoder), keeping the order of first appearance."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[(record["strategy"], record["objective"], record["encoder"])].append(record)
    rows = [Row(s, o, e, sorted(rs, key=lambda r: r["seed"])) for (s, o, e), rs in groups.items()]
    return sorted(rows, key=lambda row: (row.encoder, 0 if row.strategy in REFERENCE_ORDER else 1))


def fmt(mean: float, std: float, n: int, digits: int = 3) -> str:
    """``0.512 ± 0.013`` (or ``0.512`` for a single seed, ``—`` for no value)."""
    if math.isnan(mean):
        return "—"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def results_table(records: list[dict[str, Any]], title: str = "adios compare") -> Table:
    """A rich table: accuracy, mask shape and cost per strategy (objective and encoder columns only when they vary)."""
    rows = group_rows(records)
    trained = [r for r in rows if r.strategy not in REFERENCE_ORDER]
    show_objective = len({r.objective for r in trained}) > 1
    show_encoder = len({r.encoder for r in rows}) > 1
    header = ["strategy"] + (["objective"] if show_objective else []) + (["encoder"] if show_encoder else [])
    header += ["seeds", "linear", "kNN k=20", "hidden", "pieces", "passes/img", "mask time", "wall time"]
    body = []
    for row in rows:
        n = len(row.records)
        area = row.values("mask_area")
        cells = [row.strategy] + ([row.objective] if show_objective else []) + ([row.encoder] if show_encoder else [])
        cells += [
            str(n),
            fmt(*row.mean_std("linear_acc"), n),
            fmt(*row.mean_std("knn_acc"), n),
            fmt(*row.mean_std("mask_area"), len(area), 2) if area else "—",
            fmt(*row.mean_std("mask_components"), n, 1) if row.values("mask_components") else "—",
            f"{row.mean_std('passes_per_image')[0]:.1f}",
            f"{row.mean_std('mask_seconds')[0]:.1f}s",
            f"{row.mean_std('wall_seconds')[0]:.0f}s",
        ]
        body.append(cells)
    table = Table(title=title, header_style="bold", title_style="bold", box=box.SIMPLE_HEAD)
    for i, name in enumerate(header):
        width = max(len(cells[i]) for cells in body) if body else 1
        table.add_column(name, justify="left" if i == 0 else "right", min_width=width)
    for cells in body:
        table.add_row(*cells)
    return table
