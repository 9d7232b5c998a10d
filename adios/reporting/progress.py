"""What the command line prints: the plan, progress bars over runs and steps, the results table, registries, checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

import masks
from adios.reporting.tables import caption_lines, comparison_title, results_table
from adios.runner.record import RunRecord
from adios.runner.settings import RunSettings


def _describe(settings: RunSettings) -> str:
    row = settings.reference or settings.strategy
    objective = "" if settings.reference else f" · {settings.objective}"
    return f"{row}{objective} · {settings.encoder} · seed {settings.seed}"


class RunProgress:
    """An overall progress bar over runs plus a bar for the steps of the current run."""

    def __init__(self, console: Console, total_runs: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.overall = self.progress.add_task("all runs", total=total_runs)
        self.current = self.progress.add_task("", total=1, visible=False)

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def start(self, index: int, total: int, settings: RunSettings) -> None:
        self.progress.update(self.current, description=f"  {_describe(settings)}", completed=0, total=1, visible=True)

    def step(self, step: int, total: int) -> None:
        self.progress.update(self.current, completed=step, total=total)

    def wait(self, settings: RunSettings) -> None:
        self.progress.console.print(f"… {_describe(settings)}: another process is training it; waiting for it", highlight=False)

    def end(self, index: int, total: int, settings: RunSettings, record: RunRecord, status: str) -> None:
        self.progress.update(self.current, visible=False)
        self.progress.advance(self.overall)
        note = {"skipped": " (finished earlier: reused)", "resumed": " (resumed from its checkpoint)"}.get(status, "")
        if record.ok:
            line = f"[green]✓[/green] {_describe(settings)}: linear {record.linear_acc:.3f}, kNN {record.knn_acc:.3f}, {record.wall_seconds:.0f}s{note}"
        else:
            line = f"[red]✗[/red] {_describe(settings)}: failed: {record.failure}{note}"
        self.progress.console.print(line, highlight=False, soft_wrap=True)


def print_plan(console: Console, plan, out: Path | None = None, resolved_only: bool = False) -> None:
    """The effective settings (per objective and encoder when they differ) and the grid's size."""
    from adios.runner.presets import get_preset

    c = plan.comparison
    cells = list(plan.cells.items())
    first = cells[0][1].to_dict()
    differing = {k for _, s in cells for k, v in s.to_dict().items() if v != first[k]}
    table = Table(title="effective settings", show_header=len(cells) > 1, box=None, title_justify="left", title_style="bold")
    table.add_column("setting", style="dim")
    for (objective, encoder), _ in cells:
        table.add_column(f"{objective} · {encoder}" if len(cells) > 1 else "value")
    for key, value in {"preset": c.preset, "strategies": ", ".join(c.strategies), "seeds": ", ".join(map(str, c.seeds))}.items():
        table.add_row(key, *[str(value)] * len(cells))
    if out is not None:
        table.add_row("out", *[str(out)] * len(cells))
        table.add_row("threads", *[str(_threads())] * len(cells))
    for key in first:
        if key in ("strategy", "objective", "encoder", "seed", "reference"):
            continue
        values = [str(s.to_dict()[key]) for _, s in cells]
        table.add_row(f"[bold]{key}[/bold]" if key in differing else key, *values)
    console.print(table)
    if plan.dropped:
        console.print(f"left out (the dataset cannot run them): {', '.join(plan.dropped)}", highlight=False)
    if resolved_only:
        preset = get_preset(c.preset)
        for (objective, encoder), _ in cells:
            set_here = ", ".join(f"{k}={v}" for k, v in preset.explain(objective, encoder).items()) or "(the defaults)"
            console.print(f"preset {preset.name} sets for {objective} · {encoder}: {set_here}", highlight=False, soft_wrap=True)
        console.print(f"{len(plan.runs)} runs planned; --dry-run: nothing was trained.", highlight=False)
    elif plan.shard is not None:
        console.print(
            f"shard {plan.shard[0]}/{plan.shard[1]}: {len(plan.mine)} of the grid's {len(plan.runs)} runs", highlight=False
        )


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def print_results(console: Console, records: list[RunRecord], info: dict[str, Any], baseline: str, width: int | None) -> None:
    """The results table fitted to ``width`` (None: every column), then what its numbers mean."""
    title = comparison_title(info) if info.get("base") else "adios"
    table, hidden = results_table(records, title=title, baseline=baseline, width=width)
    console.print(table)
    for line in caption_lines(records, baseline, hidden):
        console.print(f"[dim]{line}[/dim]", highlight=False)


def _first_line(obj: object) -> str:
    doc = (obj.__doc__ or "").strip()
    return doc.splitlines()[0].replace("``", "") if doc else ""


def print_registries(console: Console) -> None:
    """Every registry's entries with their one-line description, the presets, and broken plugins with the reason."""
    from adios.data import DATASETS
    from adios.engine.encoders import ENCODERS
    from adios.engine.objectives import OBJECTIVES
    from adios.engine.optim import OPTIMIZERS
    from adios.runner.presets import PRESETS
    from adios.runner.references import REFERENCES
    from masks.checks import smoke_check

    for name in masks.names():  # plugins get a quick property check; a failing one is listed as broken
        if not masks.STRATEGIES.source(name).startswith(("baselines.", "adios.")):
            problem = smoke_check(name)
            if problem:
                masks.STRATEGIES.mark_broken(name, problem)
    sections: list[tuple[str, dict[str, str], dict[str, str]]] = [
        (
            "strategies",
            {n: _first_line(masks.get(n)) + (" (control)" if masks.get(n).control else "") for n in masks.names()},
            masks.STRATEGIES.broken(),
        ),
        ("encoders", {n: _first_line(f) for n, f in ENCODERS.items()}, ENCODERS.broken()),
        ("objectives", {n: _first_line(sys.modules[c.__module__]) for n, c in OBJECTIVES.items()}, OBJECTIVES.broken()),
        ("datasets", {n: spec.description for n, spec in DATASETS.items()}, DATASETS.broken()),
        ("optimizers", {n: _first_line(f) for n, f in OPTIMIZERS.items()}, OPTIMIZERS.broken()),
        ("reference rows", {n: _first_line(c) for n, c in REFERENCES.items()}, REFERENCES.broken()),
        ("presets", {p.name: p.description for p in PRESETS.values()}, {}),
    ]
    for title, items, broken in sections:
        table = Table(title=title, show_header=False, title_justify="left", title_style="bold", box=None)
        for name, text in items.items():
            table.add_row(name, text)
        for name, reason in broken.items():
            table.add_row(name, f"BROKEN: {reason}", style="red")
        console.print(table, highlight=False)


def print_checks(console: Console, name: str, results: list) -> None:
    """A pass/fail table of the property checks of one strategy."""
    table = Table(title=f"check-strategy {name}", title_justify="left", title_style="bold")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for result in results:
        table.add_row(result.name, "[green]pass[/green]" if result.passed else "[red]FAIL[/red]", result.detail)
    console.print(table, highlight=False)


def run_with_progress(
    console: Console, comparison, out: Path, device: str, *, dry_run: bool, width: int | None, **run_options: Any
) -> None:
    """``adios compare`` and ``adios train``: validate (errors before anything is printed), show the plan, run, print the table."""
    from adios.engine import distributed
    from adios.runner.comparison import prepare, run_comparison
    from adios.runner.run import pick_device

    plan = comparison.plan()
    if dry_run:
        print_plan(console, plan, resolved_only=True)
        return
    with distributed.process_group(pick_device(device)):  # under torchrun only; rank 0 alone prints (docs/cluster.md)
        console.quiet = not distributed.is_main()
        prepared = prepare(plan, out, device)
        print_plan(console, plan, out=out)
        with RunProgress(console, len(plan.mine)) as progress:
            hooks = {
                "on_run_start": progress.start,
                "on_step": progress.step,
                "on_wait": progress.wait,
                "on_run_end": progress.end,
            }
            records = run_comparison(prepared, **hooks, **run_options)
        print_results(console, records, plan.info(), plan.comparison.baseline, width=width)
        console.print(
            f"results, report and figures: {out}/ (report.md, results.json, results.csv, summary.csv)",
            highlight=False,
            soft_wrap=True,
        )


def check_strategies(console: Console, names: list[str]) -> bool:
    """``adios check-strategy``: the shared property checks of each strategy as a table; True when all pass."""
    from masks.checks import check_all

    for name in names:
        masks.get(name)
    passed = True
    for name in names:
        results = check_all(name)
        print_checks(console, name, results)
        passed &= all(r.passed for r in results)
    return passed
