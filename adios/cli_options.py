"""The command line's generated parts: one flag per setting and per strategy option, and one-line errors.

* :func:`with_settings_flags` adds to a command one option per :class:`RunSettings` field that is a
  flag (its help and default from the field) and one per constructor option of every registered
  strategy (``mask_area`` aside: ``--match-area``/``--mask-area``), plus ``--preset``,
  ``--strategy-file``, ``--option`` and ``--checkpoint-every``. A new setting or strategy option is
  a flag without an edit here.
* :func:`one_line_errors` is the command group: a user mistake, including a flag Typer cannot
  parse, is one red line on stderr and exit code 2; a bug keeps its traceback (exit 1).
"""

from __future__ import annotations

import errno
import functools
import inspect
import json
import sys
import traceback
import types
import typing
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from typer.core import TyperGroup

import masks
from adios.errors import UserError
from adios.runner.comparison import Comparison
from adios.runner.presets import PRESETS, get_preset
from adios.runner.settings import RunSettings, flag_fields

err_console = Console(stderr=True)
#: Errors of the disk, not of adios: a full disk, a quota, a read-only or forbidden folder.
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}
NOT_FLAGS = {"mask_area"}  # strategy options the commands expose under their own names


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of returning it to the kernel after every step (Linux only).

    Large tensors are otherwise mmap-ed and unmapped each step, and the page faults cost 8% of a
    ``none`` step at 96 px and 15% of an ADIOS-s step (``adios bench``); the process keeps up to 1 GiB
    of freed memory for reuse instead. Numbers do not change. Without glibc, nothing happens.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)  # M_MMAP_MAX: no mmap-ed chunks
        libc.mallopt(-1, 2**30)  # M_TRIM_THRESHOLD: trim only above 1 GiB free at the top
    except (OSError, AttributeError):
        pass


def split(text: str) -> list[str]:
    """A comma list of names."""
    return [n.strip() for n in text.split(",") if n.strip()]


def console_width(console: Console, wide: bool = False) -> int | None:
    """The width to fit the table to: the terminal's, or None (every column) with --wide or when the output is not a terminal."""
    return console.width if console.is_terminal and not wide else None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _plain(annotation: Any) -> Any:
    """``int | None`` -> ``int``; other annotations unchanged."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _option(name: str, annotation: Any, help: str) -> inspect.Parameter:
    plain = _plain(annotation)
    if plain is bool:
        info = typer.Option(f"{_flag(name)}/--no-{name.replace('_', '-')}", help=help)
    else:
        info = typer.Option(_flag(name), help=help)
        if plain not in (int, float, str) and typing.get_origin(plain) is not tuple:
            plain = str
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[plain | None, info])


def settings_parameters() -> list[inspect.Parameter]:
    """One option per settings field that is a flag; its default shown from the quick preset."""
    hints = typing.get_type_hints(RunSettings)
    quick = PRESETS["quick"].resolve("simclr", "resnet-tiny")
    params = []
    for f in flag_fields():
        default = getattr(quick, f.name)
        nullable = (
            "; 0 = " + ("all" if f.name.startswith("n_") else "the objective's own") if _is_nullable_int(hints[f.name]) else ""
        )
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        params.append(_option(f.name, hints[f.name], f"{f.metadata['help']}{nullable} \\[default: the preset's; quick: {shown}]"))
    return params


def _is_nullable_int(annotation: Any) -> bool:
    return _plain(annotation) is int and annotation is not int


def strategy_parameters(taken: set[str]) -> list[inspect.Parameter]:
    """One option per constructor option of the registered strategies (a name another flag has keeps to ``--option``)."""
    found: dict[str, tuple[Any, list[str], Any]] = {}
    for name in masks.names():
        try:
            hints = typing.get_type_hints(masks.get(name).__init__)
        except Exception:  # a plugin's unresolvable annotation: its options stay reachable through --option
            hints = {}
        for option, param in masks.constructor_options(name).items():
            if option in NOT_FLAGS or option in taken:
                continue
            found.setdefault(option, (hints.get(option, str), [], param.default))[1].append(name)
    quick = PRESETS["quick"].common.get("mask_options", {})
    return [
        _option(
            option,
            annotation,
            f"Strategy option of {', '.join(users)}. \\[default: the strategy's, {default}"
            + (f"; quick preset: {quick[option]}]" if option in quick else "]"),
        )
        for option, (annotation, users, default) in found.items()
    ]


def with_settings_flags(command):
    """Give ``command`` (whose last parameter is ``**flags``) the generated options; they arrive in ``flags``."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.kind is not p.VAR_KEYWORD]
    extra = [
        inspect.Parameter(
            "preset",
            inspect.Parameter.KEYWORD_ONLY,
            default="quick",
            annotation=Annotated[
                str, typer.Option(help=f"Settings preset: {'; '.join(f'{p.name}: {p.description}' for p in PRESETS.values())}.")
            ],
        ),
        inspect.Parameter(
            "strategy_file",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                list[Path] | None, typer.Option(help="A Python file that registers a strategy with @masks.register (repeatable).")
            ],
        ),
        inspect.Parameter(
            "option",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                list[str] | None,
                typer.Option(
                    help="A strategy option KEY=VALUE with no flag of its own, or STRATEGY.KEY=VALUE for one strategy only, e.g. mae.mask_area=0.75 (repeatable)."
                ),
            ],
        ),
        inspect.Parameter(
            "threads",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                int | None,
                typer.Option(
                    help="torch threads of this process; several processes on one machine (shards) must share its cores: cores / processes each. \\[default: torch's, the cores]"
                ),
            ],
        ),
        inspect.Parameter(
            "checkpoint_every",
            inspect.Parameter.KEYWORD_ONLY,
            default=20,
            annotation=Annotated[int, typer.Option(help="Save a resumable checkpoint every N training steps.")],
        ),
    ]
    settings = settings_parameters()
    taken = {p.name for p in [*own, *extra, *settings]}
    params = [*own, *extra, *settings, *strategy_parameters(taken)]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        names = {p.name for p in own}
        return command(**{k: v for k, v in kwargs.items() if k in names}, **{k: v for k, v in kwargs.items() if k not in names})

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__
    return wrapper


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key, value), the value read as JSON when it parses (numbers, true/false), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--option takes KEY=VALUE (or STRATEGY.KEY=VALUE for one strategy), got '{text}'")
    strategy, dot, option = key.strip().rpartition(".")
    key = strategy + dot + option.replace("-", "_")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def load_strategy_files(paths: list[Path] | None) -> None:
    """Import each ``--strategy-file``; a file that cannot be loaded is a user error."""
    for path in paths or []:
        try:
            masks.load_strategy_file(path)
        except ValueError as error:
            raise UserError(str(error)) from None


def common_options(flags: dict[str, Any], **fields: Any) -> tuple[Comparison, dict[str, Any]]:
    """A :class:`Comparison` from a command's generated flags plus its own ``fields``, and the run options."""
    get_preset(flags["preset"])
    load_strategy_files(flags.pop("strategy_file"))
    threads = flags.pop("threads")
    if threads is not None:
        if threads < 1:
            raise UserError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    hints = typing.get_type_hints(RunSettings)
    setting_names = {f.name for f in flag_fields()}
    settings, mask_options = {}, {}
    for key, value in flags.items():
        if key in ("preset", "option", "checkpoint_every") or value is None:
            continue
        if key in setting_names:
            if _is_nullable_int(hints[key]) and value == 0:
                value = None  # 0 = all images / the objective's own width
            settings[key] = str(value) if isinstance(value, Path) else value
        else:
            mask_options[key] = value
    mask_options.update(parse_option(text) for text in flags.get("option") or [])
    comparison = Comparison(preset=flags["preset"], settings=settings, mask_options=mask_options, **fields)
    return comparison, {"checkpoint_every": flags["checkpoint_every"]}


def _click_error(name: str) -> type[BaseException]:
    """Click's exception class ``name`` (Typer may vendor click, so it is found through a public Typer class)."""
    for cls in (*typer.BadParameter.__mro__, *typer.Abort.__mro__):
        if cls.__name__ == name:
            return cls
    raise LookupError(name)


def one_line_errors() -> type[TyperGroup]:
    """The command group class that turns every user mistake into one line on stderr and exit code 2."""
    click_exception, usage_error = _click_error("ClickException"), _click_error("UsageError")

    class OneLineErrors(TyperGroup):
        def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
            code = 0
            try:
                code = (
                    super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra) or 0
                )
            except UserError as error:
                err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
                code = 2
            except usage_error as error:  # a flag Typer cannot parse, or a missing argument
                if type(error).__name__ == "NoArgsIsHelpError":
                    error.show()  # type: ignore[attr-defined]
                else:
                    hint = f"; see `{error.ctx.command_path} --help`" if getattr(error, "ctx", None) else ""  # type: ignore[attr-defined]
                    err_console.print(f"[red]error:[/red] {error.format_message()}{hint}", highlight=False, soft_wrap=True)  # type: ignore[attr-defined]
                code = 2
            except click_exception as error:
                err_console.print(f"[red]error:[/red] {error.format_message()}", highlight=False, soft_wrap=True)  # type: ignore[attr-defined]
                code = getattr(error, "exit_code", 1)
            except OSError as error:
                if error.errno not in DISK_ERRORS:
                    raise
                where = f" writing {error.filename}" if error.filename else ""
                err_console.print(
                    f"[red]error:[/red] {error.strerror or error}{where}: free some space (or write access), or pass another --out; "
                    "finished runs are saved and the same command resumes",
                    highlight=False,
                    soft_wrap=True,
                )
                code = 2
            except (KeyboardInterrupt, _click_error("Abort")):
                err_console.print("interrupted: finished runs are saved; run the same command again to resume", soft_wrap=True)
                code = 130
            except Exception:
                traceback.print_exc()
                err_console.print(
                    "[red]This is a bug in adios, not a mistake of yours.[/red] Please report it with the command and the traceback above.",
                    soft_wrap=True,
                )
                code = 1
            if standalone_mode:
                sys.exit(code)
            return code

    return OneLineErrors
