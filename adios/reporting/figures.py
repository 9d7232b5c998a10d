"""The comparison's figures (matplotlib, PNG): accuracy bars, accuracy vs compute, training-loss curves."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from adios.reporting.tables import Summary, summarise
from adios.runner.store import atomic_write_bytes


def _label(summary: Summary, summaries: list[Summary]) -> str:
    trained = [s for s in summaries if not s.is_reference]
    parts = [summary.strategy]
    if len({s.objective for s in trained}) > 1 and not summary.is_reference:
        parts.append(summary.objective)
    if len({s.encoder for s in summaries}) > 1:
        parts.append(summary.encoder)
    return " · ".join(parts)


def _save(fig: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def accuracy_figure(records: list[dict[str, Any]], path: Path, baseline: str = "none") -> Path:
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


def compute_figure(records: list[dict[str, Any]], path: Path, baseline: str = "none") -> Path:
    """Linear accuracy (mean ± std over seeds) against mean wall time per run, one point per strategy."""
    summaries = [s for s in summarise(records, baseline) if s.values("wall_seconds") and s.strategy != "random-init"]
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    times = []
    for j, s in enumerate(summaries):
        t, (acc, acc_std) = s.stat("wall_seconds")[0], s.stat("linear_acc")
        times.append(t)
        passes = s.stat("passes_per_image")[0]
        label = f"{_label(s, summaries)} ({passes:.0f} passes/img)"
        ax.errorbar(t, acc, yerr=acc_std, fmt="o", capsize=3, color=f"C{j}", label=label)
    reference = [r for r in records if r["strategy"] == "random-init"]
    if reference:
        ax.axhline(np.mean([r["linear_acc"] for r in reference]), color="grey", linestyle="--", linewidth=1, label="random-init")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if times and max(times) > 10 * min(times):
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.margins(x=0.1, y=0.15)
    ax.set_xlabel("wall time per run (s)")
    ax.set_ylabel("linear probe accuracy")
    ax.grid(alpha=0.3)
    ax.set_title("Accuracy vs compute (mean ± std over seeds)")
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
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Training loss (mean over seeds, moving average)")
    return _save(fig, path)
