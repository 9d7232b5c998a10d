"""The comparison's figures (matplotlib, PNG): accuracy bars, accuracy vs compute, learning curves, training losses."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from adios.reporting.tables import Summary, summarise
from adios.runner.record import RunRecord
from adios.runner.store import atomic_write_bytes


def _label(summary: Summary, summaries: list[Summary]) -> str:
    trained = [s for s in summaries if not s.is_reference]
    parts = [summary.label]
    if len({s.objective for s in trained}) > 1 and not summary.is_reference:
        parts.append(summary.objective)
    if len({s.encoder for s in summaries}) > 1:
        parts.append(summary.encoder)
    return " · ".join(parts)


def _legend(ax, **options) -> None:
    """A legend, when something was drawn (a folder whose runs all failed has nothing to label)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**options)


def _save(fig: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def accuracy_figure(records: list[RunRecord], path: Path, baseline: str = "none") -> Path:
    """Grouped bars of linear, kNN and occluded accuracy per strategy, with std error bars over seeds."""
    summaries = summarise(records, baseline)
    labels = [_label(s, summaries) for s in summaries]
    metrics = [("linear_acc", "linear probe"), ("knn_acc", "kNN (k=20)"), ("occluded_linear_acc", "linear, occluded test")]
    x = np.arange(len(summaries))
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(summaries) + 2), 4.2))
    for j, (key, name) in enumerate(metrics):
        stats = [s.stat(key) if s.values(key) else (np.nan, 0.0) for s in summaries]
        means, stds = [m for m, _ in stats], [d for _, d in stats]
        bars = ax.bar(x + (j - (len(metrics) - 1) / 2) * width, means, width, yerr=stds, capsize=2, label=name)
        for bar, s in zip(bars, summaries, strict=True):
            if s.is_reference:
                bar.set_hatch("//")
                bar.set_alpha(0.6)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=f"C{j}") for j in range(len(metrics))]
    ax.legend(handles, [name for _, name in metrics], frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    ax.set_title("Accuracy per strategy: mean ± std over seeds (hatched: reference rows)", pad=28)
    return _save(fig, path)


def compute_figure(records: list[RunRecord], path: Path, baseline: str = "none") -> Path:
    """Linear accuracy (mean ± std over seeds) against counted work per run (encoder-pass units), one point per row."""
    summaries = summarise(records, baseline)
    trained = [s for s in summaries if s.values("work") and s.stat("work")[0] > 0]
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    works = []
    for j, s in enumerate(trained):
        work, (acc, acc_std) = s.stat("work")[0], s.stat("linear_acc")
        works.append(work)
        label = f"{_label(s, summaries)} ({s.stat('passes_per_image')[0]:.0f} passes/img, {s.stat('steps')[0]:.0f} steps)"
        ax.errorbar(work, acc, yerr=acc_std, fmt="o", capsize=3, color=f"C{j}", label=label)
    for s in summaries:
        if s.is_reference and not s.values("work") and s.values("linear_acc"):
            ax.axhline(
                s.stat("linear_acc")[0], color="grey", linestyle="--", linewidth=1, label=f"{_label(s, summaries)} (untrained)"
            )
    _legend(ax, frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if works and max(works) > 10 * min(works):
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter())
    ax.margins(x=0.1, y=0.15)
    ax.set_xlabel("counted work per run (encoder passes + occlusion-model share)")
    ax.set_ylabel("linear probe accuracy")
    ax.grid(alpha=0.3)
    ax.set_title("Accuracy vs compute (mean ± std over seeds)")
    return _save(fig, path)


def curve_figure(records: list[RunRecord], path: Path, baseline: str = "none") -> Path:
    """kNN accuracy of the learning curves against epoch and against encoder passes: mean over seeds, ± std band."""
    summaries = summarise(records, baseline)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.2), sharey=True)
    untrained = [s for s in summaries if s.is_reference and not s.values("work") and s.values("knn_acc")]
    for j, s in enumerate(summaries):
        curve = s.curve()
        if curve is None:
            continue
        mean, std = np.array(curve.mean), np.array(curve.std)
        style = {"color": f"C{j % 10}", "linewidth": 1.4, "linestyle": "--" if s.is_control else "-"}
        for ax, x in zip(axes, (curve.epochs, curve.passes), strict=True):
            ax.plot(x, mean, label=_label(s, summaries), **style)
            ax.fill_between(x, mean - std, mean + std, color=style["color"], alpha=0.15, linewidth=0)
    for ax, xlabel in zip(axes, ("epoch", "encoder passes (images through the encoder, cumulative)"), strict=True):
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        for s in untrained:
            ax.axhline(s.stat("knn_acc")[0], color="grey", linestyle=":", linewidth=1)
    axes[1].xaxis.set_major_formatter(matplotlib.ticker.EngFormatter())
    axes[0].set_ylabel("kNN accuracy (k = 20, fixed curve subset)")
    _legend(axes[1], frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Learning curves: mean over seeds, band = ± std (dotted: random-init on the full probe)")
    return _save(fig, path)


def loss_figure(curves: dict[str, list[list[float]]], path: Path) -> Path:
    """Training-loss curves (mean over seeds, smoothed) per strategy; ``curves`` maps a label to per-seed losses."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, runs in curves.items():
        runs = [r for r in runs if r]
        if not runs:
            continue
        length = min(len(r) for r in runs)
        mean = np.mean([r[:length] for r in runs], axis=0)
        window = max(1, length // 50)
        smooth = np.convolve(mean, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(len(smooth)) + window // 2, smooth, label=label, linewidth=1.2)
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (summed over masked views)")
    ax.grid(alpha=0.3)
    _legend(ax, frameon=False, fontsize=8)
    ax.set_title("Training loss (mean over seeds, moving average)")
    return _save(fig, path)
