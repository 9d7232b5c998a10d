"""The error type for user mistakes: the CLI prints it as one red line and exits with code 2."""

from __future__ import annotations

from collections.abc import Iterable


class UserError(Exception):
    """A mistake in what the user asked for (a bad name, value, path or file), with the fix in the message."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UserError:
    """The error for an unknown registry name, listing the valid ones."""
    choices = ", ".join(sorted(valid))
    return UserError(f"unknown {kind} '{name}'; choose one of: {choices}")
