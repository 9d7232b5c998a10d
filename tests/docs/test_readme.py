"""README.md: every `adios` command it shows names a command that exists and flags that command takes.

The README's commands are mostly long comparisons, so they are checked against the CLI's own
definition rather than run; the short ones (`--dry-run`) are run too.
"""

import re
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from adios.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def commands_in_readme() -> list[tuple[str, str]]:
    """(command, the rest of its line) of every `adios <command> ...` in the README's code (shell lines and inline code)."""
    text = README.read_text().replace("\\\n", " ")
    return re.findall(r"(?:bin/|`)adios ([a-z][a-z-]*)\b([^\n`#]*)", text)


def test_every_readme_command_and_flag_exists():
    commands = typer.main.get_command(app).commands
    found = commands_in_readme()
    checked = 0
    for command, rest in found:
        assert command in commands, f"README names `adios {command}`, which does not exist"
        known = {"--help"} | {opt for param in commands[command].params for opt in param.opts + param.secondary_opts}
        for flag in re.findall(r"(?<!\S)--[a-z][a-z0-9-]*", rest):
            assert flag in known, f"README: adios {command} {flag}"
            checked += 1
    assert checked >= 40, checked  # the commands were found


def test_the_readme_dry_run_prints_the_published_settings():
    result = CliRunner().invoke(
        app, ["compare", "--preset", "paper", "--objectives", "simclr,byol,simsiam", "--dry-run"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "stl10" in result.output and "lars" in result.output
