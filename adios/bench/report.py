"""``adios bench``'s output: rich tables of the document, and the JSON file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _f(value: Any, digits: int = 1, scale: float = 1.0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value * scale:,.{digits}f}{suffix}"


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("[green]yes[/green]" if value else "[red]no[/red]")


def tables(doc: dict[str, Any]) -> list[Table]:
    """The document as tables: peak, steps per cell, ADIOS, probes, compare breakdown (those measured)."""
    out = []
    m = doc["machine"]
    head = Table(title="adios bench: machine and matmul peak", title_justify="left")
    for column in ("device", "cpu", "threads", "torch", "load before", "load after", "fp32 GFLOP/s", "bf16 GFLOP/s", "seconds"):
        head.add_column(column)
    peak = doc.get("peak", {})
    head.add_row(
        m["device"] + (f" ({m['gpu']})" if "gpu" in m else ""),
        f"{m['cpu']} ({m['cpu_count']} cores)",
        str(m["torch_threads"]),
        m["torch"],
        " ".join(map(str, doc.get("load_before") or [])),
        " ".join(map(str, doc.get("load_after") or [])),
        _f(peak.get("fp32", {}).get("gflops"), 0),
        _f(peak.get("bf16", {}).get("gflops"), 0),
        _f(doc.get("seconds"), 0),
    )
    out.append(head)
    cells = sorted({(r["encoder"], r["image_size"]) for r in doc.get("steps", [])}, key=lambda c: (c[0], c[1]))
    for encoder, size in cells:
        rows = [r for r in doc["steps"] if (r["encoder"], r["image_size"]) == (encoder, size)]
        batch = rows[0]["batch"]
        t = Table(title=f"training step: {encoder}, {size} px, batch {batch}, bf16, SimCLR", title_justify="left")
        for column in (
            "step",
            "images/s",
            "ms/step",
            "x none",
            "passes/image",
            "mask ms",
            "occlusion share (time | FLOPs)",
            "GFLOP/step",
            "GFLOP/s",
            "% of bf16 peak",
            "CPU s | kernel s",
            "page faults",
            "note",
        ):
            t.add_column(column, justify="left" if column in ("step", "note") else "right")
        for r in rows:
            share = "-"
            if r.get("occlusion_share_time") is not None:
                share = f"{_f(r['occlusion_share_time'], 0, 100, '%')} | {_f(r.get('occlusion_share_flops'), 0, 100, '%')}"
            t.add_row(
                r["label"],
                _f(r.get("images_per_s"), 0),
                _f(r.get("seconds"), 0, 1000),
                _f(r.get("vs_none"), 2, suffix="x"),
                _f(r.get("passes_per_image"), 1),
                _f(r.get("mask_seconds"), 1, 1000),
                share,
                _f(r.get("gflop"), 1),
                _f(r.get("gflops_achieved"), 0),
                _f(r.get("peak_fraction"), 0, 100, "%"),
                f"{_f(r.get('cpu_seconds'), 2)} | {_f(r.get('system_seconds'), 2)}",
                _f(r.get("page_faults"), 0),
                r.get("skipped") or "",
            )
        out.append(t)
    if doc.get("adios"):
        t = Table(
            title="ADIOS: against the naive per-mask loop and the 2N+2-pass bound; ADIOS-s against none", title_justify="left"
        )
        for column in (
            "cell",
            "N",
            "naive / ADIOS",
            "ADIOS / none",
            "target",
            "met",
            "FLOPs ADIOS / none",
            "ADIOS-s / none",
            "target",
            "met",
            "FLOPs ADIOS-s / none",
            "ADIOS-s = 1 + occlusion + rest (time | FLOPs)",
        ):
            t.add_column(column, justify="left" if column == "cell" else "right")
        for a in doc["adios"]:
            t.add_row(
                f"{a['encoder']}, {a['image_size']} px",
                str(a.get("n_masks")),
                _f(a.get("naive_vs_adios"), 2, suffix="x"),
                _f(a.get("adios_vs_none"), 2, suffix="x"),
                _f(a.get("adios_target"), 2, suffix="x"),
                _yes(a.get("adios_target_met")),
                _f(a.get("adios_flops_vs_none"), 2, suffix="x"),
                _f(a.get("adios_s_vs_none"), 2, suffix="x"),
                _f(a.get("adios_s_target"), 2, suffix="x"),
                _yes(a.get("adios_s_target_met")),
                _f(a.get("adios_s_flops_vs_none"), 2, suffix="x"),
                f"1 + {_f(a.get('occlusion_vs_none'), 2)} + {_f(a.get('adios_s_rest_vs_none'), 2)} | "
                f"1 + {_f(a.get('occlusion_flops_vs_none'), 2)} + {_f(a.get('adios_s_rest_flops_vs_none'), 2)}",
            )
        out.append(t)
    probes = doc.get("probes")
    if probes:
        t = Table(title="probes: feature extraction, and the probes on synthetic 512-d features", title_justify="left")
        for column in ("what", "size", "seconds", "rate / iterations", "accuracy"):
            t.add_column(column, justify="left" if column in ("what", "size") else "right")
        for e in probes["extraction"]:
            t.add_row(
                f"extract_features, {e['encoder']}",
                f"{e['images']} images, {e['image_size']} px",
                _f(e["seconds"], 2),
                f"{_f(e['images_per_s'], 0)} images/s",
                "",
            )
        for p in probes["fits"]:
            size = f"{p['n_train']:,} x {p['dim']} train, {p['n_test']:,} test"
            t.add_row(
                "linear probe (fit + score)",
                size,
                _f(p["linear_seconds"], 2),
                f"{p['linear_iterations']} it",
                _f(p["linear_acc"], 3),
            )
            t.add_row("linear probe, 1 BLAS thread", size, _f(p.get("linear_seconds_one_blas_thread"), 2), "", "")
            t.add_row("kNN probe, k = 20", size, _f(p["knn20_seconds"], 2), "", _f(p["knn20_acc"], 3))
            t.add_row("kNN probe, k = 200", size, _f(p["knn200_seconds"], 2), "", _f(p["knn200_acc"], 3))
        out.append(t)
    compare = doc.get("compare")
    if compare:
        t = Table(
            title=f"one default `adios compare` ({compare['preset']} preset), seconds per run: {compare['method']}",
            title_justify="left",
        )
        for column in ("run", "steps", "setup", "views", "masks", "forward/backward", "probes", "I/O", "total"):
            t.add_column(column, justify="left" if column == "run" else "right")
        for r in compare["runs"]:
            t.add_row(
                r["run"],
                str(r["steps"]),
                _f(r.get("setup_seconds"), 1),
                _f(r.get("views_seconds"), 1),
                _f(r.get("masks_seconds"), 1),
                _f(r.get("forward_backward_seconds"), 1),
                _f(r.get("probes_seconds"), 1),
                _f(r.get("io_seconds"), 1),
                _f(r.get("total_seconds"), 1),
            )
        t.add_row("data (once)", "", "", "", "", "", "", "", _f(compare["data_seconds"], 1))
        t.add_row("[bold]comparison[/bold]", "", "", "", "", "", "", "", f"[bold]{_f(compare['total_seconds'], 0)}[/bold]")
        out.append(t)
    return out


def print_tables(console: Console, doc: dict[str, Any]) -> None:
    """Print every table of the document."""
    for table in tables(doc):
        console.print(table)


def write_json(doc: dict[str, Any], path: Path) -> None:
    """Write the document as indented JSON (NaN written as null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(doc), indent=2) + "\n")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value
