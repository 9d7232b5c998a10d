"""The ``adios`` command line: a thin layer over :mod:`adios.compare` and :mod:`adios.run`."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

import masks
from adios.compare import Comparison, run_comparison
from adios.data import DATASETS
from adios.encoders import ENCODERS
from adios.errors import UserError, unknown_name
from adios.objectives import OBJECTIVES
from adios.reference import REFERENCES
from adios.report import results_table
from adios.settings import PRESETS, RunSettings, preset

DEFAULT_STRATEGIES = "none,random-patch"

app = typer.Typer(
    help="adios: does the way you hide parts of an image change what a self-supervised encoder learns?",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def user_errors(command):
    """Turn a :class:`UserError` into one red line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as error:
            err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def split_names(text: str, kind: str, valid: list[str], all_names: list[str] | None = None) -> list[str]:
    """A comma list of names (or ``all``), each checked against ``valid``."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(all_names or valid)
    if not names:
        raise UserError(f"no {kind} given; choose from: {', '.join(valid)}")
    for name in names:
        if name not in valid:
            raise unknown_name(kind, name, valid)
    return list(dict.fromkeys(names))


def effective_settings(preset_name: str, **flags: Any) -> RunSettings:
    """The preset's settings with every flag that was given (not None) on top."""
    settings = preset(preset_name)
    mask_options = {k: v for k, v in flags.pop("mask_options").items() if v is not None}
    overrides = {k: v for k, v in flags.items() if v is not None}
    if "crop_scale" in overrides:
        overrides["crop_scale"] = tuple(overrides["crop_scale"])
    settings = settings.replace(**overrides, mask_options={**settings.mask_options, **mask_options})
    validate(settings)
    return settings


def validate(settings: RunSettings) -> None:
    """Reject bad values with a message that names the flag."""
    checks = [
        (settings.epochs >= 0, f"--epochs must be >= 0, got {settings.epochs}"),
        (settings.batch_size >= 2, f"--batch-size must be >= 2, got {settings.batch_size}"),
        (settings.lr > 0, f"--lr must be > 0, got {settings.lr}"),
        (settings.n_train is None or settings.n_train >= 2, f"--n-train must be >= 2, got {settings.n_train}"),
        (settings.n_test is None or settings.n_test >= 1, f"--n-test must be >= 1, got {settings.n_test}"),
        (settings.precision in ("bf16", "fp32"), f"--precision must be bf16 or fp32, got {settings.precision}"),
        (
            0 < settings.crop_scale[0] <= settings.crop_scale[1] <= 1,
            f"--crop-scale must be 0 < low <= high <= 1, got {settings.crop_scale}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)
    area = settings.mask_options.get("mask_area")
    if area is not None and not 0 <= area <= 1:
        raise UserError(f"--mask-area / --match-area must be in [0, 1], got {area}")
    if settings.dataset not in DATASETS:
        raise unknown_name("dataset", settings.dataset, DATASETS)
    if settings.encoder not in ENCODERS:
        raise unknown_name("encoder", settings.encoder, ENCODERS)


def seed_list(seeds: int, first_seed: int) -> list[int]:
    if seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {seeds}")
    return list(range(first_seed, first_seed + seeds))


# Options shared by `compare` and `train`. Defaults of None mean "from the preset".
PRESET_HELP = f"Settings preset: {', '.join(PRESETS)} (quick: minutes on a laptop CPU; paper: STL-10 96 px ResNet18, for GPUs)."
Dataset = Annotated[str | None, typer.Option(help=f"Dataset: {', '.join(DATASETS)}. [default: shapes]")]
DataDir = Annotated[Path | None, typer.Option(help="Folder holding a real dataset (cifar10, cifar100, stl10, imagefolder).")]
ImageSize = Annotated[int | None, typer.Option(help="Image side in pixels. [default: 32]")]
NTrain = Annotated[int | None, typer.Option(help="Training images to use (the first N). [default: 10000]")]
NTest = Annotated[int | None, typer.Option(help="Test images to use (the first N). [default: 2000]")]
Epochs = Annotated[int | None, typer.Option(help="Training epochs. [default: 15]")]
BatchSize = Annotated[int | None, typer.Option(help="Batch size. [default: 256]")]
Optimizer = Annotated[str | None, typer.Option(help="Optimiser: adamw, sgd or lars. [default: adamw]")]
Lr = Annotated[float | None, typer.Option(help="Peak learning rate (linear warmup, then cosine decay). [default: 0.001]")]
WeightDecay = Annotated[float | None, typer.Option(help="Weight decay. [default: 0.0001]")]
Temperature = Annotated[float | None, typer.Option(help="SimCLR temperature. [default: 0.2]")]
CropScale = Annotated[tuple[float, float] | None, typer.Option(help="RandomResizedCrop area range. [default: 0.35 1.0]")]
Precision = Annotated[str | None, typer.Option(help="bf16 (autocast) or fp32. [default: bf16]")]
MaskArea = Annotated[float | None, typer.Option(help="Target hidden fraction for the static strategies that take one.")]
CellSize = Annotated[int | None, typer.Option(help="Cell side in pixels for patch strategies. [default: size/8]")]
Out = Annotated[Path, typer.Option(help="Results folder; finished runs in it are reused, interrupted ones resumed.")]
Device = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]


class RunProgress:
    """An overall progress bar over runs plus a bar for the steps of the current run."""

    def __init__(self, total_runs: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.overall = self.progress.add_task("runs", total=total_runs)
        self.current = self.progress.add_task("", total=1, visible=False)

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def start(self, index: int, total: int, settings: RunSettings) -> None:
        label = f"  {settings.strategy} · {settings.objective} · {settings.encoder} · seed {settings.seed}"
        self.progress.update(self.current, description=label, completed=0, total=1, visible=True)

    def step(self, step: int, total: int) -> None:
        self.progress.update(self.current, completed=step, total=total)

    def end(self, index: int, total: int, settings: RunSettings, record: dict[str, Any], status: str) -> None:
        self.progress.update(self.current, visible=False)
        self.progress.advance(self.overall)
        note = {"skipped": " (finished earlier, reused)", "resumed": " (resumed from checkpoint)"}.get(status, "")
        self.progress.console.print(
            f"[green]✓[/green] {settings.strategy} · {settings.objective} · {settings.encoder} · seed {settings.seed}: "
            f"linear {record['linear_acc']:.3f}, kNN {record['knn_acc']:.3f}, {record['wall_seconds']:.0f}s{note}",
            highlight=False,
        )


def print_settings(settings: RunSettings, extra: dict[str, Any]) -> None:
    table = Table(title="effective settings", show_header=False, box=None, title_justify="left", title_style="bold")
    for key, value in {**extra, **settings.to_dict()}.items():
        if key not in ("strategy", "objective", "encoder", "seed"):
            table.add_row(f"[dim]{key}[/dim]", str(value))
    console.print(table)


@app.command()
@user_errors
def compare(
    strategies: Annotated[
        str, typer.Option(help="Comma list of mask strategies, or 'all'. See `adios list`.")
    ] = DEFAULT_STRATEGIES,
    dataset: Dataset = None,
    encoder: Annotated[
        str | None,
        typer.Option("--encoder", "--encoders", help=f"Comma list of encoders: {', '.join(ENCODERS)}. [default: resnet-tiny]"),
    ] = None,
    objective: Annotated[
        str, typer.Option("--objective", "--objectives", help=f"Comma list of objectives: {', '.join(OBJECTIVES)}.")
    ] = "simclr",
    seeds: Annotated[int, typer.Option(help="Number of seeds; every strategy sees the same data, views and order per seed.")] = 1,
    first_seed: Annotated[int, typer.Option(help="The first seed (seeds are first, first+1, ...).")] = 0,
    preset_name: Annotated[str, typer.Option("--preset", help=PRESET_HELP)] = "quick",
    reference: Annotated[
        str, typer.Option(help="Comma list of reference rows: random-init, supervised; or 'none'.")
    ] = "random-init",
    out: Out = Path("runs/compare"),
    data_dir: DataDir = None,
    image_size: ImageSize = None,
    n_train: NTrain = None,
    n_test: NTest = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    optimizer: Optimizer = None,
    lr: Lr = None,
    weight_decay: WeightDecay = None,
    temperature: Temperature = None,
    crop_scale: CropScale = None,
    precision: Precision = None,
    mask_area: MaskArea = None,
    cell_size: CellSize = None,
    device: Device = "auto",
) -> None:
    """Train the same encoder with the same objective under each mask strategy, probe it, and print one table.

    [bold]Examples[/bold]

      adios compare                                        [dim]# the default comparison on the embedded shapes data[/dim]

      adios compare --strategies all --seeds 3             [dim]# every registered strategy, 3 paired seeds[/dim]

      adios compare --strategies none,mae --objective byol --epochs 30 --out runs/byol

      adios compare --dataset cifar10 --data-dir ~/data --reference random-init,supervised
    """
    base = effective_settings(
        preset_name,
        dataset=dataset,
        data_dir=str(data_dir) if data_dir else None,
        image_size=image_size,
        n_train=n_train,
        n_test=n_test,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        lr=lr,
        weight_decay=weight_decay,
        temperature=temperature,
        crop_scale=crop_scale,
        precision=precision,
        mask_options={"mask_area": mask_area, "cell_size": cell_size},
    )
    comparison = Comparison(
        base=base,
        strategies=split_names(strategies, "strategy", masks.names()),
        objectives=split_names(objective, "objective", list(OBJECTIVES)),
        encoders=split_names(encoder or base.encoder, "encoder", list(ENCODERS)),
        seeds=seed_list(seeds, first_seed),
        references=[] if reference.strip() == "none" else split_names(reference, "reference row", list(REFERENCES)),
    )
    print_settings(base, {"preset": preset_name, "out": str(out), "threads": torch.get_num_threads()})
    with RunProgress(len(comparison.grid())) as progress:
        records = run_comparison(
            comparison, out, device=device, on_run_start=progress.start, on_step=progress.step, on_run_end=progress.end
        )
    title = f"{base.dataset} · {', '.join(comparison.objectives)} · {', '.join(comparison.encoders)} · {base.epochs} epochs"
    console.print(results_table(records, title=title))
    console.print(f"results: {out / 'results.json'}, {out / 'results.csv'}", highlight=False)


@app.command()
@user_errors
def train(
    strategy: Annotated[str, typer.Option(help="The mask strategy. See `adios list`.")] = "none",
    dataset: Dataset = None,
    encoder: Annotated[str | None, typer.Option(help=f"Encoder: {', '.join(ENCODERS)}. [default: resnet-tiny]")] = None,
    objective: Annotated[str, typer.Option(help=f"Objective: {', '.join(OBJECTIVES)}.")] = "simclr",
    seed: Annotated[int, typer.Option(help="Seed of data order, views, masks and initialisation.")] = 0,
    preset_name: Annotated[str, typer.Option("--preset", help=PRESET_HELP)] = "quick",
    out: Out = Path("runs/train"),
    data_dir: DataDir = None,
    image_size: ImageSize = None,
    n_train: NTrain = None,
    n_test: NTest = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    optimizer: Optimizer = None,
    lr: Lr = None,
    weight_decay: WeightDecay = None,
    temperature: Temperature = None,
    crop_scale: CropScale = None,
    precision: Precision = None,
    mask_area: MaskArea = None,
    cell_size: CellSize = None,
    device: Device = "auto",
) -> None:
    """Train one strategy, probe it, and print its record.

    [bold]Examples[/bold]

      adios train --strategy random-patch --mask-area 0.25

      adios train --strategy none --objective simsiam --epochs 30
    """
    compare.__wrapped__(
        strategies=strategy,
        dataset=dataset,
        encoder=encoder,
        objective=objective,
        seeds=1,
        first_seed=seed,
        preset_name=preset_name,
        reference="none",
        out=out,
        data_dir=data_dir,
        image_size=image_size,
        n_train=n_train,
        n_test=n_test,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        lr=lr,
        weight_decay=weight_decay,
        temperature=temperature,
        crop_scale=crop_scale,
        precision=precision,
        mask_area=mask_area,
        cell_size=cell_size,
        device=device,
    )


def _first_line(obj: object) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


@app.command(name="list")
def list_things() -> None:
    """Show the registered strategies, encoders, objectives, datasets and presets."""
    for title, items in [
        ("strategies", {name: _first_line(masks.get(name)) for name in masks.names()}),
        ("encoders", {name: _first_line(fn) or name for name, fn in ENCODERS.items()}),
        ("objectives", {name: _first_line(sys.modules[cls.__module__]) for name, cls in OBJECTIVES.items()}),
        ("datasets", DATASETS),
        (
            "presets",
            {name: ", ".join(f"{k}={v}" for k, v in values.items()) or "(the defaults)" for name, values in PRESETS.items()},
        ),
        (
            "reference rows",
            {
                "random-init": "the untrained encoder, probed the same way",
                "supervised": "the same encoder trained with labels on the same budget",
            },
        ),
    ]:
        table = Table(title=title, show_header=False, title_justify="left", title_style="bold", box=None)
        for name, text in items.items():
            table.add_row(f"[cyan]{name}[/cyan]", text)
        console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
