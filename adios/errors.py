"""The error type for user mistakes (defined in :mod:`masks.errors`, the lowest layer, so every package can raise it).

The CLI prints a :class:`UserError` as one red line and exits with code 2. Anything else is a bug:
it keeps its traceback (exit code 1) and a line asking for a report.
"""

from __future__ import annotations

from collections.abc import Iterable

from masks.errors import UserError
from masks.registry import UnknownName


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UserError:
    """The error for an unknown name, listing the valid ones."""
    return UnknownName(kind, name, sorted(valid))


__all__ = ["UnknownName", "UserError", "unknown_name"]
