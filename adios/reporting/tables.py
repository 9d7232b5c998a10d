"""Summaries of a comparison: one row per strategy x objective x encoder, aggregated over seeds.

Every metric is shown as mean ± std over the seeds whose run finished (failed runs are counted
and named, never averaged). Each strategy gets its paired difference against a baseline strategy
(``none`` by default), matched by seed, with a 95% t interval, ``*`` when it excludes zero, and the
minimum detectable effect of that many seeds. Rows not above ``random-init`` beyond noise are
flagged "did not learn". The cost is counted work (encoder passes plus the occlusion model's share),
relative to the baseline; wall time is its own column.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from rich import box
from rich.table import Table

from adios.runner.record import RunRecord
from eval.stats import PairedDifference, mean_std, paired_difference, seeds_needed

#: Metrics that get a paired difference against the baseline.
DELTA_METRICS = ["linear_acc", "knn_acc", "occluded_linear_acc", "cluster_nmi"]
SUMMARY_METRICS = [
    "linear_acc",
    "knn_acc",
    "knn200_acc",
    "occluded_linear_acc",
    "cluster_nmi",
    "cluster_ari",
    "cluster_fmi",
    "feature_std",
    "hidden_fraction",
    "mask_components",
    "mask_empty",
    "mask_full",
    "ari",
    "ari_fg",
    "best_iou",
    "passes_per_image",
    "steps",
    "work",
    "mask_seconds",
    "wall_seconds",
    "train_seconds",
    "fit_seconds",
    "eval_seconds",
]
#: With one seed, a row must beat random-init's linear accuracy by this much to count as having learned.
LEARNED_MARGIN = 0.05
#: A learning curve "left chance" once its kNN accuracy is this far above the untrained encoder's (its first point).
LEFT_CHANCE_MARGIN = 0.05
#: The Δ the report says how many seeds would detect.
TARGET_DELTA = 0.02


@dataclass
class CurveSummary:
    """The learning curves of one row: the mean over seeds, and two readouts."""

    epochs: list[float]
    passes: list[float]
    mean: list[float]
    std: list[float]
    gain_last_fifth: float  # mean over seeds of the kNN gain over the last 20% of training (accuracy units)
    left_chance_at: float | None  # fraction of training at which the mean curve left chance (None: never)


@dataclass
class Summary:
    """The runs of one strategy x objective x encoder."""

    strategy: str
    objective: str
    encoder: str
    kind: str
    records: list[RunRecord]
    deltas: dict[str, PairedDifference] = field(default_factory=dict)
    cost_ratio: float | None = None
    learned: bool | None = None  # None: no random-init row to tell

    @property
    def is_reference(self) -> bool:
        return self.kind == "reference"

    @property
    def is_control(self) -> bool:
        return self.kind == "control"

    @property
    def ok(self) -> list[RunRecord]:
        return [r for r in self.records if r.ok]

    @property
    def failures(self) -> list[RunRecord]:
        return [r for r in self.records if not r.ok]

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.ok]

    def values(self, key: str) -> list[float]:
        return [v for v in (r.value(key) for r in self.records) if v is not None]

    def stat(self, key: str) -> tuple[float, float]:
        return mean_std(self.values(key))

    def by_seed(self, key: str) -> dict[int, float]:
        return {r.seed: v for r in self.records if (v := r.value(key)) is not None}

    @property
    def label(self) -> str:
        return f"{self.strategy} (control)" if self.is_control else self.strategy

    def curve(self) -> CurveSummary | None:
        """Mean learning curve over the seeds with one, plus its flattening and leaving-chance readouts."""
        curves = [r.curve for r in self.ok if len(r.curve) >= 2]
        if not curves:
            return None
        length = min(len(c) for c in curves)
        knn = np.array([[p["knn_acc"] for p in c[:length]] for c in curves])
        steps = np.array([p["step"] for p in curves[0][:length]], dtype=float)
        gains = [_gain_last_fifth([p["step"] for p in c], [p["knn_acc"] for p in c]) for c in curves]
        mean = knn.mean(0)
        left = next((steps[i] / steps[-1] for i in range(length) if mean[i] >= mean[0] + LEFT_CHANCE_MARGIN), None)
        return CurveSummary(
            epochs=[p["epoch"] for p in curves[0][:length]],
            passes=[float(np.mean([c[i]["encoder_passes"] for c in curves])) for i in range(length)],
            mean=mean.tolist(),
            std=(knn.std(0, ddof=1) if len(curves) > 1 else np.zeros(length)).tolist(),
            gain_last_fifth=float(np.mean(gains)),
            left_chance_at=None if left is None else float(left),
        )


def _gain_last_fifth(steps: list[int], knn: list[float]) -> float:
    """kNN at the end minus kNN at 80% of training (linear interpolation between curve points)."""
    return float(knn[-1] - np.interp(0.8 * steps[-1], steps, knn))


def summarise(records: list[RunRecord], baseline: str = "none") -> list[Summary]:
    """Group records and attach paired differences against ``baseline`` (same objective, encoder and seed)."""
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        groups[(record.strategy, record.objective, record.encoder)].append(record)
    summaries = [Summary(s, o, e, rs[0].kind, sorted(rs, key=lambda r: r.seed)) for (s, o, e), rs in groups.items()]
    index = {(s.strategy, s.objective, s.encoder): s for s in summaries}
    untrained = {s.encoder: s for s in summaries if s.is_reference and not any(r.steps for r in s.records)}
    for summary in summaries:
        reference = untrained.get(summary.encoder)
        if reference is not None and reference is not summary:
            summary.learned = _learned(summary, reference)
        base = index.get((baseline, summary.objective, summary.encoder))
        if base is None or summary.is_reference or base is summary:
            continue
        for key in DELTA_METRICS:
            mine, theirs = summary.by_seed(key), base.by_seed(key)
            common = sorted(set(mine) & set(theirs))
            if common:
                summary.deltas[key] = paired_difference([mine[s] for s in common], [theirs[s] for s in common])
        base_work, work = base.stat("work")[0], summary.stat("work")[0]
        if base_work > 0 and not math.isnan(work):
            summary.cost_ratio = work / base_work
    return sorted(summaries, key=lambda s: (s.encoder, s.objective if not s.is_reference else "", not s.is_reference))


def _learned(summary: Summary, reference: Summary) -> bool | None:
    """Above the untrained encoder's linear accuracy beyond noise (paired by seed), or by a fixed margin with one seed."""
    mine, theirs = summary.by_seed("linear_acc"), reference.by_seed("linear_acc")
    common = sorted(set(mine) & set(theirs))
    if not common:
        return None
    d = paired_difference([mine[s] for s in common], [theirs[s] for s in common])
    return bool(d.low > 0) if d.low is not None else d.mean >= LEARNED_MARGIN


def fmt(mean: float, std: float, n: int, digits: int = 3) -> str:
    """``0.512 ± 0.013`` (``0.512`` for one value, ``—`` for none)."""
    if math.isnan(mean):
        return "—"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def fmt_delta(delta: PairedDifference | None) -> str:
    """``+0.051 ± 0.032*``: mean paired difference, half-width of the 95% interval, * if it excludes 0."""
    if delta is None:
        return "—"
    if delta.half_width is None:
        return f"{delta.mean:+.3f}"
    return f"{delta.mean:+.3f} ± {delta.half_width:.3f}{'*' if delta.significant else ''}"


def note(summary: Summary) -> str:
    """Failures, collapse and the did-not-learn flag of a row ("" when there is nothing to say)."""
    parts = []
    failed = summary.failures
    if failed:
        reasons = sorted({"collapsed" if "collapsed" in (r.failure or "") else f"failed ({r.failure})" for r in failed})
        prefix = "" if len(failed) == len(summary.records) else f"{len(failed)} of {len(summary.records)} seeds "
        parts.append(prefix + "; ".join(reasons))
    if summary.learned is False and summary.ok:
        parts.append("did not learn")
    return "; ".join(parts)


@dataclass(frozen=True)
class Column:
    """A table column: its header, how to fill a cell, and its priority when the table must fit a width (1 = first)."""

    header: str
    cell: object  # Callable[[Summary], str]
    priority: int
    best: str | None = None  # the metric whose best row is highlighted


def _columns(summaries: list[Summary], baseline: str) -> list[Column]:
    trained = [s for s in summaries if not s.is_reference]
    n = lambda s, key: len(s.values(key))  # noqa: E731
    columns = [Column("strategy", lambda s: s.label, 0)]
    if len({s.objective for s in trained}) > 1:
        columns.append(Column("objective", lambda s: s.objective, 1))
    if len({s.encoder for s in summaries}) > 1:
        columns.append(Column("encoder", lambda s: s.encoder, 1))
    if len({len(s.records) for s in summaries}) > 1:
        columns.append(Column("seeds", lambda s: str(len(s.ok)), 2))
    columns += [
        Column("linear", lambda s: fmt(*s.stat("linear_acc"), n(s, "linear_acc")), 1, "linear_acc"),
        Column("Δ linear", lambda s: fmt_delta(s.deltas.get("linear_acc")), 2),
        Column("kNN", lambda s: fmt(*s.stat("knn_acc"), n(s, "knn_acc")), 4, "knn_acc"),
        Column("Δ kNN", lambda s: fmt_delta(s.deltas.get("knn_acc")), 5),
    ]
    if any(s.values("cluster_nmi") for s in summaries):
        columns += [
            Column("NMI", lambda s: fmt(*s.stat("cluster_nmi"), n(s, "cluster_nmi")), 8, "cluster_nmi"),
            Column("Δ NMI", lambda s: fmt_delta(s.deltas.get("cluster_nmi")), 9),
        ]
    columns += [
        Column("occluded", lambda s: fmt(*s.stat("occluded_linear_acc"), n(s, "occluded_linear_acc")), 10, "occluded_linear_acc"),
        Column("Δ occluded", lambda s: fmt_delta(s.deltas.get("occluded_linear_acc")), 11),
        Column("hidden", lambda s: fmt(*s.stat("hidden_fraction"), n(s, "hidden_fraction"), 2), 7),
        Column("pieces", lambda s: fmt(*s.stat("mask_components"), n(s, "mask_components"), 1), 13),
        Column(
            "empty/full",
            lambda s: f"{s.stat('mask_empty')[0]:.0%}/{s.stat('mask_full')[0]:.0%}" if s.values("mask_empty") else "—",
            14,
        ),
    ]
    if any(s.values("best_iou") for s in summaries):
        columns.append(Column("object IoU", lambda s: fmt(*s.stat("best_iou"), n(s, "best_iou"), 2), 12))
    columns += [
        Column("passes", lambda s: f"{s.stat('passes_per_image')[0]:.1f}" if s.values("passes_per_image") else "—", 15),
        Column("steps", lambda s: f"{s.stat('steps')[0]:.0f}" if s.values("steps") else "—", 16),
        Column("mask time", lambda s: f"{s.stat('mask_seconds')[0]:.1f}s" if s.values("mask_seconds") else "—", 17),
        Column("wall time", lambda s: f"{s.stat('wall_seconds')[0]:.0f}s" if s.values("wall_seconds") else "—", 18),
        Column(
            "cost",
            lambda s: f"{s.cost_ratio:.1f}×" if s.cost_ratio is not None else ("1.0×" if s.strategy == baseline else "—"),
            6,
        ),
    ]
    if any(note(s) for s in summaries):
        columns.insert(next(i for i, c in enumerate(columns) if c.header == "Δ linear") + 1, Column("note", note, 3))
    return columns


def table_cells(
    records: list[RunRecord], baseline: str = "none"
) -> tuple[list[Column], list[list[str]], dict[int, int], list[Summary]]:
    """Columns, cells and, per column index, the row of the best strategy (for highlighting)."""
    summaries = summarise(records, baseline)
    columns = _columns(summaries, baseline)
    rows = [[str(c.cell(s)) for c in columns] for s in summaries]  # type: ignore[operator]
    best = {}
    for i, column in enumerate(columns):
        if column.best is None:
            continue
        candidates = [
            (s.stat(column.best)[0], r) for r, s in enumerate(summaries) if not s.is_reference and s.values(column.best)
        ]
        if candidates:
            best[i] = max(candidates)[1]
    return columns, rows, best, summaries


def fit_columns(columns: list[Column], rows: list[list[str]], width: int | None) -> tuple[list[int], list[str]]:
    """The column indices that fit ``width`` characters (highest priority first), and the headers left out."""
    widths = [max([len(c.header)] + [len(r[i]) for r in rows]) + 2 for i, c in enumerate(columns)]
    if width is None or sum(widths) <= width:
        return list(range(len(columns))), []
    kept, used = [], 0
    for i in sorted(range(len(columns)), key=lambda i: columns[i].priority):
        if used + widths[i] <= width or columns[i].priority == 0:
            kept.append(i)
            used += widths[i]
    return sorted(kept), [columns[i].header for i in range(len(columns)) if i not in kept]


def comparison_title(info: dict) -> str:
    """``shapes · simclr · resnet-tiny · 16 epochs · 5 seeds · budget: epochs · areas matched at 0.25``."""
    base, seeds, area = info["base"], len(info["seeds"]), info.get("match_area")
    matched = f"areas matched at {area:g}" if area is not None else "areas not matched"
    budget = info.get("budget", base.get("budget", "epochs"))
    budget_text = "equal epochs" if budget == "epochs" else f"equal compute (encoder passes of {info.get('baseline', 'none')})"
    parts = [
        base["dataset"],
        ", ".join(info["objectives"]),
        ", ".join(info["encoders"]),
        f"{base['epochs']} epoch{'s' if base['epochs'] != 1 else ''}",
    ]
    return " · ".join([*parts, f"{seeds} seed{'s' if seeds > 1 else ''}", budget_text, matched])


def caption_lines(records: list[RunRecord], baseline: str = "none", hidden: list[str] | None = None) -> list[str]:
    """What the table's numbers mean, the rows whose areas were matched, and the power of every paired comparison."""
    summaries = summarise(records, baseline)
    lines = [
        f"mean ± std over the seeds whose run finished · Δ: paired difference vs {baseline} by seed, ± half-width of the "
        "95% t interval, * = the interval excludes 0 (one seed: no interval) · best strategy per accuracy column in bold · "
        "kNN: k = 20 · NMI: k-means on the test features · occluded: the clean linear probe on test images with held-out "
        "occluders · hidden: mean hidden fraction · cost: counted work (encoder passes + the occlusion model's FLOP share) "
        f"relative to {baseline}; wall time is measured separately"
    ]
    matched = [s.strategy for s in summaries if s.records and all(r.area_matched for r in s.records)]
    if any(not s.is_reference for s in summaries):
        lines.append(
            f"areas matched for: {', '.join(matched)}; the other rows hide what they choose"
            if matched
            else "areas matched for: no row; every row hides what it chooses"
        )
    if any(s.learned is not None for s in summaries):
        one_seed = all(len(s.records) == 1 for s in summaries)
        rule = (
            f"by less than {LEARNED_MARGIN:.2f} (one seed: a fixed margin)" if one_seed else "beyond noise (paired 95% interval)"
        )
        lines.append(f"did not learn: linear accuracy not above random-init {rule}")
    power = [
        f"{s.label} {100 * d.detectable:.1f}"
        for s in summaries
        if (d := s.deltas.get("linear_acc")) is not None and d.n >= 2 and not math.isnan(d.detectable)
    ]
    if power:
        n = max(d.n for s in summaries if (d := s.deltas.get("linear_acc")) is not None)
        lines.append(
            f"minimum detectable effect on Δ linear (80% power, α = 0.05, two-sided paired t, from the observed spread; "
            f"{n} seeds), in points: {', '.join(power)}"
        )
    if hidden:
        lines.append(f"columns left out to fit the terminal: {', '.join(hidden)} (--wide shows every column)")
    return lines


def results_table(
    records: list[RunRecord], title: str = "adios compare", baseline: str = "none", width: int | None = None
) -> tuple[Table, list[str]]:
    """The rich table printed by ``adios compare`` and ``adios report``, fitted to ``width``, and the headers left out."""
    columns, rows, best, summaries = table_cells(records, baseline)
    kept, hidden = fit_columns(columns, rows, width)
    table = Table(title=title, header_style="bold", title_style="bold", box=box.SIMPLE_HEAD, title_justify="left")
    for i in kept:
        table.add_column(columns[i].header, justify="left" if i == 0 else "right", overflow="fold")
    for r, cells in enumerate(rows):
        styled = [f"[bold green]{cells[i]}[/bold green]" if best.get(i) == r else cells[i] for i in kept]
        table.add_row(*styled, style="dim" if summaries[r].is_reference else None)
    return table, hidden


def markdown_table(records: list[RunRecord], baseline: str = "none") -> str:
    """The same table in GitHub markdown, every column, best values in bold."""
    columns, rows, best, _ = table_cells(records, baseline)
    lines = ["| " + " | ".join(c.header for c in columns) + " |", "|" + "|".join(["---"] + ["---:"] * (len(columns) - 1)) + "|"]
    for r, cells in enumerate(rows):
        lines.append("| " + " | ".join(f"**{c}**" if best.get(i) == r else c for i, c in enumerate(cells)) + " |")
    return "\n".join(lines)


def summary_csv(records: list[RunRecord], baseline: str = "none") -> str:
    """One row per strategy x objective x encoder: mean and std of every metric, the paired differences and their power."""
    buffer = io.StringIO()
    columns = ["strategy", "objective", "encoder", "kind", "seeds", "failed"]
    for key in SUMMARY_METRICS:
        columns += [f"{key}_mean", f"{key}_std"]
    for key in DELTA_METRICS:
        columns += [f"delta_{key}", f"delta_{key}_low", f"delta_{key}_high", f"delta_{key}_mde"]
    columns += ["cost_ratio", "learned", "curve_gain_last_fifth", "curve_left_chance_at"]
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for s in summarise(records, baseline):
        row: dict[str, object] = {
            "strategy": s.strategy,
            "objective": s.objective,
            "encoder": s.encoder,
            "kind": s.kind,
            "seeds": len(s.ok),
            "failed": len(s.failures),
        }
        for key in SUMMARY_METRICS:
            if s.values(key):
                row[f"{key}_mean"], row[f"{key}_std"] = s.stat(key)
        for key, delta in s.deltas.items():
            row[f"delta_{key}"], row[f"delta_{key}_low"], row[f"delta_{key}_high"] = delta.mean, delta.low, delta.high
            row[f"delta_{key}_mde"] = delta.detectable
        row["cost_ratio"], row["learned"] = s.cost_ratio, s.learned
        curve = s.curve()
        if curve is not None:
            row["curve_gain_last_fifth"], row["curve_left_chance_at"] = curve.gain_last_fifth, curve.left_chance_at
        writer.writerow(row)
    return buffer.getvalue()


def verdicts(records: list[RunRecord], baseline: str = "none") -> list[str]:
    """One sentence per strategy: did it differ from the baseline beyond seed noise, and how small a difference could it see?"""
    sentences = []
    for s in summarise(records, baseline):
        if s.is_reference or s.strategy == baseline:
            continue
        label = f"`{s.label}` ({s.objective}, {s.encoder})"
        delta = s.deltas.get("linear_acc")
        mean, _ = s.stat("linear_acc")
        if not s.ok:
            sentences.append(f"{label}: every run failed ({note(s)}).")
            continue
        if delta is None:
            sentences.append(f"{label}: linear {mean:.3f}; no `{baseline}` run with the same seeds to compare against.")
            continue
        if delta.low is None:
            sentences.append(
                f"{label}: linear {mean:.3f}, {delta.mean:+.3f} against `{baseline}` on one seed; one seed gives no interval, "
                "so this cannot be told apart from noise (use --seeds 3 or more)."
            )
            continue
        span = f"{delta.mean:+.3f} (95% CI {delta.low:+.3f} to {delta.high:+.3f}, {delta.n} seeds)"
        if delta.significant:
            verdict = f"{'beat' if delta.mean > 0 else 'was worse than'} `{baseline}` beyond noise"
        else:
            verdict = f"did not differ from `{baseline}` beyond noise (not shown, which is not the same as no effect)"
        needed = seeds_needed(TARGET_DELTA, delta.sd)
        power = (
            f" With {delta.n} seeds the smallest true Δ detectable with 80% power is {100 * delta.detectable:.1f} points; "
            f"a {100 * TARGET_DELTA:.0f}-point Δ would need {needed if needed is not None else 'more than 100000'} seed{'s' if needed != 1 else ''}."
        )
        extra = ""
        if note(s):
            extra = f" Note: {note(s)}."
        sentences.append(f"{label} {verdict}: linear {mean:.3f}, {span}.{power}{extra}")
    return sentences


def curve_sentences(records: list[RunRecord], baseline: str = "none") -> list[str]:
    """Per row with learning curves: where its kNN curve left chance, and whether it had flattened by the end."""
    sentences = []
    for s in summarise(records, baseline):
        curve = s.curve()
        if curve is None:
            continue
        left = "never left chance" if curve.left_chance_at is None else f"left chance at {curve.left_chance_at:.0%} of training"
        flat = "had flattened" if abs(curve.gain_last_fifth) < 0.01 else "was still changing"
        sentences.append(
            f"`{s.label}` ({s.objective}, {s.encoder}): the kNN curve {left} (≥ {100 * LEFT_CHANCE_MARGIN:.0f} points above "
            f"the untrained start) and gained {100 * curve.gain_last_fifth:+.1f} points over the last 20% of training: it {flat}."
        )
    return sentences
