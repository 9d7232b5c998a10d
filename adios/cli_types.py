"""The option types that several ``adios`` commands share (help text and flag names in one place)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Out = Annotated[Path, typer.Option(help="Results folder; finished runs in it are reused, interrupted ones resumed.")]
Device = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]
Wide = Annotated[bool, typer.Option("--wide", help="Print every column, however wide the table.")]
Names = Annotated[
    str | None, typer.Option(help="Comma list of mask strategies, or 'all' (controls aside). \\[default: the preset's]")
]
Encoders = Annotated[
    str | None, typer.Option("--encoder", "--encoders", help="Comma list of encoders. \\[default: the preset's]")
]
Objectives = Annotated[str, typer.Option("--objective", "--objectives", help="Comma list of objectives.")]
Seeds = Annotated[int, typer.Option(help="Number of seeds; per seed every strategy sees the same images, views and order.")]
FirstSeed = Annotated[int, typer.Option(help="The first seed (the seeds are first, first+1, ...).")]
References = Annotated[str, typer.Option(help="Comma list of reference rows (random-init, supervised), or 'none'.")]
Baseline = Annotated[str, typer.Option(help="The strategy every other one is compared with (paired by seed).")]
MatchArea = Annotated[
    str | None, typer.Option(help="Hidden fraction for every strategy that takes one, or 'off'. \\[default: the preset's]")
]
Shard = Annotated[str | None, typer.Option(help="Run only shard I/N of the grid (0-based), e.g. 0/4; see docs/cluster.md.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the resolved settings of every objective and encoder, then stop.")]
StrategyFiles = Annotated[list[Path] | None, typer.Option(help="A Python file that registers a strategy (repeatable).")]
