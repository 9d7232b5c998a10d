"""The ``adios`` command line: a thin layer over :mod:`adios.runner.comparison`, :mod:`adios.reporting.outputs` and :mod:`adios.reporting.gallery`."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

import masks
from adios.data import DATASETS, DATASETS_WITH_INSTANCES
from adios.engine.encoders import ENCODERS
from adios.engine.objectives import OBJECTIVES
from adios.errors import UserError, unknown_name
from adios.runner.comparison import Comparison, run_comparison
from adios.runner.references import REFERENCES
from adios.runner.settings import PRESETS, RunSettings, preset

DEFAULT_STRATEGIES = "none,random-patch,ground-truth,adios-s"
D = RunSettings()  # the quick preset's defaults, quoted in the help

app = typer.Typer(
    help="adios: does the way you hide parts of an image change what a self-supervised encoder learns?",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
# In a terminal rich uses its width; piped to a file or another program, the table is never cropped.
console = Console(width=None if sys.stdout.isatty() else 250)
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
        except KeyboardInterrupt:
            err_console.print("interrupted: finished runs are saved; run the same command again to resume", soft_wrap=True)
            raise typer.Exit(130) from None

    return wrapper


def split_names(text: str, kind: str, valid: list[str]) -> list[str]:
    """A comma list of names (or ``all``), each checked against ``valid``."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(valid)
    if not names:
        raise UserError(f"no {kind} given; choose from: {', '.join(valid)}")
    for name in names:
        if name not in valid:
            raise unknown_name(kind, name, valid)
    return list(dict.fromkeys(names))


def effective_settings(preset_name: str, mask_options: dict[str, Any], **flags: Any) -> RunSettings:
    """The preset's settings with every flag that was given (not None) on top."""
    settings = preset(preset_name)
    overrides = {k: v for k, v in flags.items() if v is not None}
    if "crop_scale" in overrides:
        overrides["crop_scale"] = tuple(overrides["crop_scale"])
    options = {**settings.mask_options, **{k: v for k, v in mask_options.items() if v is not None}}
    settings = settings.replace(**overrides, mask_options=options)
    validate(settings)
    return settings


def validate(settings: RunSettings) -> None:
    """Reject bad values with a message that names the flag."""
    checks = [
        (settings.epochs >= 0, f"--epochs must be >= 0, got {settings.epochs}"),
        (settings.batch_size >= 2, f"--batch-size must be >= 2, got {settings.batch_size}"),
        (settings.lr > 0, f"--lr must be > 0, got {settings.lr}"),
        (settings.weight_decay >= 0, f"--weight-decay must be >= 0, got {settings.weight_decay}"),
        (settings.temperature > 0, f"--temperature must be > 0, got {settings.temperature}"),
        (0 <= settings.jitter <= 1, f"--jitter must be in [0, 1], got {settings.jitter}"),
        (settings.n_train is None or settings.n_train >= 2, f"--n-train must be >= 2, got {settings.n_train}"),
        (settings.n_test is None or settings.n_test >= 1, f"--n-test must be >= 1, got {settings.n_test}"),
        (settings.precision in ("bf16", "fp32"), f"--precision must be bf16 or fp32, got {settings.precision}"),
        (settings.budget in ("epochs", "compute"), f"--budget must be epochs or compute, got {settings.budget}"),
        (settings.eval_every >= 0, f"--eval-every must be >= 0 (0 = no learning curve), got {settings.eval_every}"),
        (settings.optimizer in ("adamw", "sgd", "lars"), f"--optimizer must be adamw, sgd or lars, got {settings.optimizer}"),
        (
            0 < settings.crop_scale[0] <= settings.crop_scale[1] <= 1,
            f"--crop-scale must satisfy 0 < low <= high <= 1, got {settings.crop_scale}",
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


# Options shared by `compare` and `train`. A default of None means "from the preset".
PRESET_HELP = f"Settings preset: {', '.join(PRESETS)} (quick: minutes on a laptop CPU; paper: STL-10 96 px ResNet18, for GPUs)."
Preset = Annotated[str, typer.Option("--preset", help=PRESET_HELP)]
Dataset = Annotated[str | None, typer.Option(help=f"Dataset: {', '.join(DATASETS)}. \\[default: {D.dataset}]")]
DataDir = Annotated[Path | None, typer.Option(help="Folder holding a real dataset (cifar10, cifar100, stl10, imagefolder).")]
ImageSize = Annotated[int | None, typer.Option(help=f"Image side in pixels. \\[default: {D.image_size}]")]
NTrain = Annotated[int | None, typer.Option(help=f"Training images to use (the first N). \\[default: {D.n_train}]")]
NTest = Annotated[int | None, typer.Option(help=f"Test images to use (the first N). \\[default: {D.n_test}]")]
Epochs = Annotated[int | None, typer.Option(help=f"Training epochs. \\[default: {D.epochs}]")]
BatchSize = Annotated[int | None, typer.Option(help=f"Batch size. \\[default: {D.batch_size}]")]
Optimizer = Annotated[str | None, typer.Option(help=f"Optimiser: adamw, sgd or lars. \\[default: {D.optimizer}]")]
Lr = Annotated[float | None, typer.Option(help=f"Peak learning rate (linear warmup, then cosine decay). \\[default: {D.lr}]")]
WeightDecay = Annotated[float | None, typer.Option(help=f"Weight decay. \\[default: {D.weight_decay}]")]
Temperature = Annotated[float | None, typer.Option(help=f"SimCLR temperature. \\[default: {D.temperature}]")]
CropScale = Annotated[
    tuple[float, float] | None,
    typer.Option(help=f"RandomResizedCrop area range. \\[default: {D.crop_scale[0]} {D.crop_scale[1]}]"),
]
Jitter = Annotated[
    float | None,
    typer.Option(help=f"Colour-jitter strength s (brightness, contrast, saturation s; hue s/4). \\[default: {D.jitter}]"),
]
Precision = Annotated[str | None, typer.Option(help=f"bf16 (autocast) or fp32. \\[default: {D.precision}]")]
CellSize = Annotated[
    int | None, typer.Option(help="Cell side in pixels for patch and visual-word strategies. \\[default: per strategy]")
]
Mode = Annotated[str | None, typer.Option(help="context-encoder mode: center, random-block or random-region.")]
SiftWords = Annotated[int | None, typer.Option(help="sift-bovw codebook size k (64-256; default 64).")]
NMasks = Annotated[int | None, typer.Option(help="ADIOS: number of masks N.")]
MaskChannels = Annotated[int | None, typer.Option(help="ADIOS: base channels c of the occlusion UNet.")]
AlphaSparsity = Annotated[float | None, typer.Option(help="ADIOS: weight of the sparsity penalty.")]
MaskLr = Annotated[float | None, typer.Option(help="ADIOS: learning rate of the occlusion model.")]
MaskNorm = Annotated[str | None, typer.Option(help="ADIOS: UNet norm, gn, in or no.")]
MaskOptimizer = Annotated[str | None, typer.Option(help="ADIOS: optimiser of the occlusion model, adamw, sgd or lars.")]
Out = Annotated[Path, typer.Option(help="Results folder; finished runs in it are reused, interrupted ones resumed.")]
Device = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]
CheckpointEvery = Annotated[int, typer.Option(help="Save a resumable checkpoint every N training steps.")]
Budget = Annotated[
    str | None,
    typer.Option(
        help="epochs: every strategy trains --epochs; compute: each gets the steps whose encoder passes match the baseline's at --epochs. \\[default: epochs]"
    ),
]
EvalEvery = Annotated[int | None, typer.Option(help="Learning curve: a kNN probe every E epochs (0 = off). \\[default: 0]")]
CurveTrain = Annotated[int | None, typer.Option(help="Training images the learning-curve kNN uses. \\[default: 2000]")]
CurveTest = Annotated[int | None, typer.Option(help="Test images the learning-curve kNN uses. \\[default: 1000]")]


RUN_FLAGS = ("dataset", "data_dir", "image_size", "n_train", "n_test", "epochs", "batch_size", "optimizer", "lr", "weight_decay")
RUN_FLAGS += ("temperature", "crop_scale", "jitter", "precision", "budget", "eval_every", "curve_train", "curve_test")
MASK_FLAGS = (
    "mask_area",
    "cell_size",
    "mode",
    "sift_words",
    "n_masks",
    "mask_channels",
    "alpha_sparsity",
    "mask_lr",
    "mask_norm",
    "mask_optimizer",
)
MASK_OPTION_NAMES = {"sift_words": "words"}  # flag -> strategy constructor keyword, where they differ


def parse_area(text: str | None) -> float | None:
    """A --match-area value: a fraction, or 'off' (None here; the caller drops the preset's area)."""
    if text is None or text.strip() == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--match-area takes a fraction in [0, 1] or 'off', got '{text}'") from None


def settings_from_flags(preset_name: str, flags: dict[str, Any]) -> RunSettings:
    """Effective settings from a command's flags (its ``locals()``): run flags and strategy options."""
    run = {k: flags.get(k) for k in RUN_FLAGS}
    if run["data_dir"] is not None:
        run["data_dir"] = str(run["data_dir"])
    options = {MASK_OPTION_NAMES.get(k, k): flags.get(k) for k in MASK_FLAGS}
    return effective_settings(preset_name, options, **run)


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
        self.overall = self.progress.add_task("all runs", total=total_runs)
        self.current = self.progress.add_task("", total=1, visible=False)

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def start(self, index: int, total: int, settings: RunSettings) -> None:
        label = f"  {settings.strategy} · {settings.objective} · {settings.encoder} · seed {settings.seed}"
        self.progress.update(self.current, description=label, completed=0, total=1, visible=True)

    def step(self, step: int, total: int) -> None:
        self.progress.update(self.current, completed=step, total=total)

    def end(self, index: int, total: int, settings: RunSettings, record: dict[str, Any], status: str) -> None:
        self.progress.update(self.current, visible=False)
        self.progress.advance(self.overall)
        note = {"skipped": " (finished earlier: reused)", "resumed": " (resumed from its checkpoint)"}.get(status, "")
        self.progress.console.print(
            f"[green]✓[/green] {settings.strategy} · {settings.objective} · {settings.encoder} · seed {settings.seed}: "
            f"linear {record['linear_acc']:.3f}, kNN {record['knn_acc']:.3f}, {record['wall_seconds']:.0f}s{note}",
            highlight=False,
            soft_wrap=True,
        )


def print_settings(settings: RunSettings, extra: dict[str, Any]) -> None:
    table = Table(title="effective settings", show_header=False, box=None, title_justify="left", title_style="bold")
    for key, value in {**extra, **settings.to_dict()}.items():
        if key not in ("strategy", "objective", "encoder", "seed"):
            table.add_row(f"[dim]{key}[/dim]", str(value))
    console.print(table)


def run_and_print(comparison: Comparison, out: Path, device: str, checkpoint_every: int) -> list[dict[str, Any]]:
    """Run a comparison with progress bars, then print its table."""
    from adios.reporting.tables import comparison_title, results_table

    print_settings(comparison.base, {"preset": comparison.preset, "out": str(out), "threads": torch.get_num_threads()})
    with RunProgress(len(comparison.grid())) as progress:
        records = run_comparison(
            comparison,
            out,
            device=device,
            checkpoint_every=checkpoint_every,
            on_run_start=progress.start,
            on_step=progress.step,
            on_run_end=progress.end,
        )
    console.print(results_table(records, title=comparison_title(comparison.info()), baseline=comparison.baseline))
    console.print(
        f"results, report and figures: {out}/ (report.md, results.json, results.csv, summary.csv)",
        highlight=False,
        soft_wrap=True,
    )
    return records


@app.command()
@user_errors
def compare(
    strategies: Annotated[
        str | None,
        typer.Option(help=f"Comma list of mask strategies, or 'all'. See `adios list`. \\[default: {DEFAULT_STRATEGIES}]"),
    ] = None,
    dataset: Dataset = None,
    encoder: Annotated[
        str, typer.Option("--encoder", "--encoders", help=f"Comma list of encoders: {', '.join(ENCODERS)}.")
    ] = D.encoder,
    objective: Annotated[
        str, typer.Option("--objective", "--objectives", help=f"Comma list of objectives: {', '.join(OBJECTIVES)}.")
    ] = D.objective,
    seeds: Annotated[
        int, typer.Option(help="Number of seeds; per seed every strategy sees the same images, views and order.")
    ] = 1,
    first_seed: Annotated[int, typer.Option(help="The first seed (the seeds are first, first+1, ...).")] = 0,
    preset_name: Preset = "quick",
    reference: Annotated[
        str, typer.Option(help="Comma list of reference rows (random-init, supervised), or 'none'.")
    ] = "random-init",
    baseline: Annotated[str, typer.Option(help="The strategy every other one is compared with (paired by seed).")] = "none",
    match_area: Annotated[
        str | None,
        typer.Option(
            help="Target hidden fraction F of every static strategy, or 'off' for each one's own default. \\[default: preset's, 0.25]"
        ),
    ] = None,
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
    jitter: Jitter = None,
    precision: Precision = None,
    budget: Budget = None,
    eval_every: EvalEvery = None,
    curve_train: CurveTrain = None,
    curve_test: CurveTest = None,
    cell_size: CellSize = None,
    mode: Mode = None,
    sift_words: SiftWords = None,
    n_masks: NMasks = None,
    mask_channels: MaskChannels = None,
    alpha_sparsity: AlphaSparsity = None,
    mask_lr: MaskLr = None,
    mask_norm: MaskNorm = None,
    mask_optimizer: MaskOptimizer = None,
    device: Device = "auto",
    checkpoint_every: CheckpointEvery = 20,
) -> None:
    """Train the same encoder with the same objective under each mask strategy, probe it, and print one table.

    Re-running the same command with the same --out reuses finished runs and resumes an interrupted one.

    [bold]Examples[/bold]

      adios compare                                        [dim]# the default comparison on the embedded shapes data[/dim]

      adios compare --strategies all --seeds 3             [dim]# every registered strategy, 3 paired seeds[/dim]

      adios compare --strategies none,mae,beit --match-area 0.4 --out runs/area40

      adios compare --strategies none,adios-s --objective byol --epochs 30 --out runs/byol

      adios compare --dataset cifar10 --data-dir ~/data --reference random-init,supervised
    """
    base = settings_from_flags(preset_name, {**locals(), "mask_area": parse_area(match_area)})
    if match_area is not None and match_area.strip() == "off":
        base = base.replace(mask_options={k: v for k, v in base.mask_options.items() if k != "mask_area"})
    if seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {seeds}")
    chosen = split_names(strategies or DEFAULT_STRATEGIES, "strategy", masks.names())
    if strategies is None and base.dataset not in DATASETS_WITH_INSTANCES:  # the oracle row needs object maps
        chosen = [name for name in chosen if not masks.get(name).needs_instances]
    if baseline not in masks.names():
        raise unknown_name("baseline strategy", baseline, masks.names())
    if base.budget == "compute":
        base = base.replace(budget_baseline=baseline)
    comparison = Comparison(
        base=base,
        strategies=chosen,
        objectives=split_names(objective, "objective", list(OBJECTIVES)),
        encoders=split_names(encoder, "encoder", list(ENCODERS)),
        seeds=list(range(first_seed, first_seed + seeds)),
        references=[] if reference.strip() == "none" else split_names(reference, "reference row", list(REFERENCES)),
        baseline=baseline,
        preset=preset_name,
    )
    run_and_print(comparison, out, device, checkpoint_every)


@app.command()
@user_errors
def train(
    strategy: Annotated[str, typer.Option(help="The mask strategy. See `adios list`.")] = "none",
    dataset: Dataset = None,
    encoder: Annotated[str, typer.Option(help=f"Encoder: {', '.join(ENCODERS)}.")] = D.encoder,
    objective: Annotated[str, typer.Option(help=f"Objective: {', '.join(OBJECTIVES)}.")] = D.objective,
    seed: Annotated[int, typer.Option(help="Seed of data order, views, masks and initialisation.")] = 0,
    preset_name: Preset = "quick",
    mask_area: Annotated[float | None, typer.Option(help="Target hidden fraction, for static strategies that take one.")] = None,
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
    jitter: Jitter = None,
    precision: Precision = None,
    budget: Budget = None,
    eval_every: EvalEvery = None,
    curve_train: CurveTrain = None,
    curve_test: CurveTest = None,
    cell_size: CellSize = None,
    mode: Mode = None,
    sift_words: SiftWords = None,
    n_masks: NMasks = None,
    mask_channels: MaskChannels = None,
    alpha_sparsity: AlphaSparsity = None,
    mask_lr: MaskLr = None,
    mask_norm: MaskNorm = None,
    mask_optimizer: MaskOptimizer = None,
    device: Device = "auto",
    checkpoint_every: CheckpointEvery = 20,
) -> None:
    """Train one strategy, probe it, and print its row.

    [bold]Examples[/bold]

      adios train --strategy random-patch --mask-area 0.25

      adios train --strategy adios-s --n-masks 4 --alpha-sparsity 0.5

      adios train --strategy none --objective simsiam --epochs 30
    """
    base = settings_from_flags(preset_name, locals())
    comparison = Comparison(
        base=base,
        strategies=split_names(strategy, "strategy", masks.names())[:1],
        objectives=split_names(objective, "objective", list(OBJECTIVES))[:1],
        encoders=split_names(encoder, "encoder", list(ENCODERS))[:1],
        seeds=[seed],
        references=[],
        preset=preset_name,
    )
    run_and_print(comparison, out, device, checkpoint_every)


@app.command()
@user_errors
def report(
    folder: Annotated[Path, typer.Argument(help="A results folder written by `adios compare --out`.")],
    format: Annotated[str, typer.Option("--format", help="How to print the table: table, markdown, csv or json.")] = "table",
    baseline: Annotated[str | None, typer.Option(help="Compare against this strategy. \\[default: the comparison's]")] = None,
) -> None:
    """Rebuild the table, report.md and figures of a results folder, without training.

    [bold]Examples[/bold]

      adios report runs/compare

      adios report runs/compare --format markdown > table.md
    """
    from adios.reporting.outputs import load_records, rebuild_outputs
    from adios.reporting.tables import comparison_title, markdown_table, results_table, summary_csv

    if not (folder / "results.json").exists():
        raise UserError(f"{folder} has no results.json: pass a folder written by `adios compare --out DIR`")
    if format not in ("table", "markdown", "csv", "json"):
        raise UserError(f"--format must be table, markdown, csv or json, got '{format}'")
    try:
        records = load_records(folder)
        info = json.loads((folder / "comparison.json").read_text()) if (folder / "comparison.json").exists() else {}
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise UserError(f"{folder}/results.json is not a results file ({error}); re-run `adios compare --out {folder}`") from None
    baseline = baseline or info.get("baseline", "none")
    rebuild_outputs(folder, records, info, baseline)
    if format == "table":
        console.print(results_table(records, title=comparison_title(info) if info else str(folder), baseline=baseline))
    elif format == "markdown":
        sys.stdout.write(markdown_table(records, baseline) + "\n")
    elif format == "csv":
        sys.stdout.write(summary_csv(records, baseline))
    else:
        sys.stdout.write(json.dumps(records, indent=2) + "\n")


@app.command(name="masks")
@user_errors
def masks_gallery(
    strategies: Annotated[str, typer.Option(help="Comma list of strategies to show, or 'all'.")] = "all",
    dataset: Annotated[str, typer.Option(help=f"Dataset: {', '.join(DATASETS)}.")] = D.dataset,
    data_dir: DataDir = None,
    image_size: Annotated[int, typer.Option(help="Image side in pixels.")] = D.image_size,
    n: Annotated[int, typer.Option("--n", help="Number of test images (columns).")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the masks' generator and of learned strategies' initialisation.")] = 0,
    from_run: Annotated[
        Path | None, typer.Option(help="A results folder: learned strategies use their trained weights from its runs.")
    ] = None,
    out: Annotated[Path, typer.Option(help="The PNG to write.")] = Path("runs/masks.png"),
    mode: Mode = None,
    match_area: Annotated[float | None, typer.Option(help="Target hidden fraction of every static strategy.")] = None,
) -> None:
    """Render a gallery PNG: test images, and each strategy's masks overlaid on them.

    Learned strategies (adios, adios-s) show their untrained masks unless --from-run names a results folder.

    [bold]Examples[/bold]

      adios masks --strategies none,random-patch,mae,beit --n 8 --out masks.png

      adios masks --strategies adios,adios-s --from-run runs/compare --out adios-masks.png
    """
    from adios.data import load_dataset
    from adios.reporting.gallery import strategy_gallery

    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    data = load_dataset(dataset, data_dir, image_size, n_train=None, n_test=None)
    names = split_names(strategies, "strategy", masks.names())
    options = {k: v for k, v in {"mode": mode, "mask_area": match_area}.items() if v is not None}
    path = strategy_gallery(data, names, out, n=n, seed=seed, options=options, runs=from_run)
    console.print(f"gallery: {path}", highlight=False)


def _first_line(obj: object) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


@app.command(name="list")
def list_things() -> None:
    """Show the registered strategies, encoders, objectives, datasets and presets."""
    for title, items in [
        ("strategies", {name: _first_line(masks.get(name)) for name in masks.names()}),
        ("encoders", {name: _first_line(fn) for name, fn in ENCODERS.items()}),
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
                "supervised": "the same encoder trained with labels, same budget",
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
