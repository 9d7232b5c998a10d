"""What ``adios bench`` does with its options: check them, measure, print the tables, write the JSON."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console

from adios.bench.report import print_tables, write_json
from adios.bench.run import PARTS, BenchPlan, run_bench
from adios.errors import UserError
from adios.runner.run import pick_device


def bench(console: Console, quick: bool, device: str, out: Path | None, threads: int, parts: str) -> dict:
    """Run ``adios bench``; returns the document it printed (and wrote to ``out``)."""
    chosen = [p.strip() for p in parts.split(",") if p.strip()] if parts != "all" else list(PARTS)
    unknown = [p for p in chosen if p not in PARTS]
    if unknown or not chosen:
        raise UserError(f"--parts takes 'all' or a comma list of {', '.join(PARTS)}; got '{parts}'")
    if threads < 0:
        raise UserError(f"--threads must be >= 0 (0: torch's default), got {threads}")
    if out is not None and out.suffix != ".json":
        raise UserError(f"--out names the JSON file to write (FILE.json), got '{out}'")
    if threads:
        torch.set_num_threads(threads)
    dev = pick_device(device)
    plan = BenchPlan.for_mode(quick, dev)
    plan.parts = tuple(p for p in PARTS if p in chosen)

    def log(line: str) -> None:
        console.print(f"[dim]{line}[/dim]", highlight=False)

    doc = run_bench(plan, dev, log=log)
    print_tables(console, doc)
    if out is not None:
        write_json(doc, out)
        console.print(f"written: {out}", highlight=False)
    return doc
