"""The error type for user mistakes, shared by every package: the CLI prints it as one red line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for (a bad name, value, path or file), with the fix in the message."""
