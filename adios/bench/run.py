"""``adios bench``: what is measured (the plan, quick or full) and the run that measures it into one document."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

import masks
from adios.bench.breakdown import compare_breakdown
from adios.bench.peak import matmul_peak
from adios.bench.probes import extraction_rate, probe_seconds
from adios.bench.steps import NAIVE, OCCLUSION, cell_settings, peak_fraction, run_cell

SCHEMA = "adios-bench/1"
PARTS = ("peak", "steps", "probes", "compare")
#: Strategies every plan times (the brief's list); ``all`` adds every other registered non-control strategy.
CORE_STRATEGIES = ("none", "random-patch", "mae", "beit", "sift-bovw", "adios-s", "adios")


def benchmark_strategies() -> list[str]:
    """Every registered strategy that is not a control, ``none`` first."""
    names = [n for n in masks.names() if not masks.get(n).control]
    return ["none", *[n for n in names if n != "none"]]


@dataclass
class BenchPlan:
    """What one ``adios bench`` measures. ``quick()`` fits in minutes on a 2-core CPU; ``full()`` is the whole grid."""

    quick: bool
    #: (encoder, image size, strategies) cells of training steps
    cells: list[tuple[str, int, list[str]]]
    warmup: int
    repeats: int
    peak_n: int
    peak_repeats: int
    #: (n_train, n_test) of the probes on 512-d features
    probe_sizes: list[tuple[int, int]]
    #: (encoder, image size) of the feature-extraction rate
    extraction: list[tuple[str, int]]
    extraction_images: int
    breakdown_warmup: int
    breakdown_steps: int
    parts: tuple[str, ...] = PARTS
    #: settings values on top of the quick preset's for the training steps (tests use a smaller batch)
    step_overrides: dict[str, Any] = field(default_factory=dict)
    #: settings values for the compare breakdown (tests shrink the data)
    breakdown_overrides: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_mode(cls, quick: bool, device: torch.device) -> BenchPlan:
        """The quick or the full plan on ``device`` (larger matmuls on a GPU)."""
        strategies = benchmark_strategies()
        gpu = device.type == "cuda"
        if quick:
            return cls(
                quick=True,
                cells=[("resnet-tiny", 32, strategies), ("resnet18", 32, ["none"])],
                warmup=1,
                repeats=3,
                peak_n=4096 if gpu else 2048,
                peak_repeats=5,
                probe_sizes=[(10_000, 2_000)],
                extraction=[("resnet-tiny", 32)],
                extraction_images=4096,
                breakdown_warmup=1,
                breakdown_steps=3,
            )
        cells = [(encoder, size, strategies) for encoder in ("resnet-tiny", "resnet18") for size in (32, 96)]
        return cls(
            quick=False,
            cells=cells,
            warmup=2 if gpu else 1,  # a resnet18 step at 96 px takes tens of seconds on a CPU
            repeats=7 if gpu else 5,
            peak_n=8192 if gpu else 4096,
            peak_repeats=7,
            probe_sizes=[(10_000, 2_000), (50_000, 10_000)],
            extraction=[(encoder, size) for encoder in ("resnet-tiny", "resnet18") for size in (32, 96)],
            extraction_images=4096,
            breakdown_warmup=2,
            breakdown_steps=5,
        )


def machine(device: torch.device) -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_bench(plan: BenchPlan, device: torch.device, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Measure everything ``plan`` asks for on ``device``; returns the JSON-ready document (see :mod:`adios.bench`)."""
    start = time.perf_counter()
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "quick": plan.quick,
        "machine": machine(device),
        "load_before": _load(),
        "plan": asdict(plan),
        "settings": _step_settings(plan),
    }
    if "peak" in plan.parts:
        log("matmul peak")
        doc["peak"] = {
            "fp32": matmul_peak(device, torch.float32, plan.peak_n, plan.peak_repeats),
            "bf16": matmul_peak(device, torch.bfloat16, plan.peak_n, plan.peak_repeats),
        }
    if "steps" in plan.parts:
        steps = []
        for encoder, size, strategies in plan.cells:
            result = run_cell(
                encoder, size, strategies, device, plan.warmup, plan.repeats, log=log, overrides=plan.step_overrides
            )
            for row in result.rows.values():
                steps.append({"encoder": encoder, "image_size": size, "batch": result.batch, **row})
        if "peak" in doc:
            peak_fraction(steps, doc["peak"]["bf16"]["gflops"])
        doc["steps"] = steps
        doc["adios"] = adios_summary(steps, plan.step_overrides)
    if "probes" in plan.parts:
        log("probes")
        doc["probes"] = {
            "extraction": [extraction_rate(e, s, plan.extraction_images, device) for e, s in plan.extraction],
            "fits": [probe_seconds(n_train, n_test) for n_train, n_test in plan.probe_sizes],
        }
    if "compare" in plan.parts:
        doc["compare"] = compare_breakdown(
            device, plan.breakdown_warmup, plan.breakdown_steps, plan.breakdown_overrides or None, log=log
        )
    doc["load_after"] = _load()
    doc["seconds"] = time.perf_counter() - start
    return doc


def _step_settings(plan: BenchPlan) -> dict[str, Any]:
    if not plan.cells:
        return {}
    s = cell_settings(plan.cells[0][0], plan.cells[0][1], plan.step_overrides)
    return {
        "objective": s.objective,
        "batch_size": s.batch_size,
        "precision": s.precision,
        "channels_last": s.channels_last,
        "optimizer": s.optimizer,
        "mask_options": s.mask_options,
    }


def adios_summary(steps: list[dict[str, Any]], overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per cell: ADIOS against the naive loop and against its 2N+2-pass bound, ADIOS-s against ``none``.

    Targets (issue 14): ADIOS-s at most 1.5x a ``none`` step; ADIOS at most 1.1 x (2N+2)/2 x a ``none``
    step. The FLOP ratios (counted) say what the same work would cost at the ``none`` step's efficiency.
    ADIOS-s's step is split, by difference, into the ``none`` step, the occlusion model's forward and
    backward (timed alone), and the rest: the mask step's two encoder forwards and one backward to the
    input, the penalty and the mask optimiser.
    """
    out = []
    cells = sorted({(r["encoder"], r["image_size"]) for r in steps})
    for encoder, size in cells:
        rows = {r["label"]: r for r in steps if (r["encoder"], r["image_size"]) == (encoder, size)}
        none, adios, adios_s, naive, occlusion = (rows.get(k, {}) for k in ("none", "adios", "adios-s", NAIVE, OCCLUSION))
        if none.get("seconds") is None:
            continue
        n = cell_settings(encoder, size, overrides).mask_options.get("n_masks")
        entry: dict[str, Any] = {"encoder": encoder, "image_size": size, "n_masks": n, "none_seconds": none["seconds"]}
        if adios.get("seconds") is not None:
            bound = (2 * n + 2) / 2
            entry.update(
                adios_seconds=adios["seconds"],
                adios_vs_none=adios["seconds"] / none["seconds"],
                adios_pass_bound=bound,
                adios_target=1.1 * bound,
                adios_target_met=adios["seconds"] / none["seconds"] <= 1.1 * bound,
                adios_flops_vs_none=_ratio(adios.get("gflop"), none.get("gflop")),
            )
            if naive.get("seconds") is not None:
                entry.update(naive_seconds=naive["seconds"], naive_vs_adios=naive["seconds"] / adios["seconds"])
        if adios_s.get("seconds") is not None:
            entry.update(
                adios_s_seconds=adios_s["seconds"],
                adios_s_vs_none=adios_s["seconds"] / none["seconds"],
                adios_s_target=1.5,
                adios_s_target_met=adios_s["seconds"] / none["seconds"] <= 1.5,
                adios_s_flops_vs_none=_ratio(adios_s.get("gflop"), none.get("gflop")),
                adios_s_occlusion_share_time=adios_s.get("occlusion_share_time"),
            )
            if occlusion.get("seconds") is not None:
                rest = adios_s["seconds"] - none["seconds"] - occlusion["seconds"]
                entry.update(
                    occlusion_vs_none=occlusion["seconds"] / none["seconds"], adios_s_rest_vs_none=rest / none["seconds"]
                )
                if occlusion.get("gflop") and adios_s.get("gflop") and none.get("gflop"):
                    rest_flops = adios_s["gflop"] - none["gflop"] - occlusion["gflop"]
                    entry.update(
                        occlusion_flops_vs_none=occlusion["gflop"] / none["gflop"],
                        adios_s_rest_flops_vs_none=rest_flops / none["gflop"],
                    )
        if "adios_seconds" in entry or "adios_s_seconds" in entry:
            out.append(entry)
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None
