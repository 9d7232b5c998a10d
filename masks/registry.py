"""The strategy registry: a decorator for built-ins, the entry-point group ``adios.masks`` for others.

Another package adds a strategy by declaring, in its ``pyproject.toml``::

    [project.entry-points."adios.masks"]
    my-mask = "my_package.my_module:MyMask"      # a class, registered under the entry-point name
    more = "my_package.masks"                     # or a module whose classes use @register
"""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import Any

from masks.contract import LearnedStrategy, MaskStrategy

GROUP = "adios.masks"

_STRATEGIES: dict[str, type] = {}
_loaded = False


class UnknownStrategy(KeyError):
    """No strategy of that name is registered."""


def register(name: str):
    """Class decorator: register a strategy under its kebab-case CLI ``name``."""

    def decorate(cls: type) -> type:
        if name in _STRATEGIES and _STRATEGIES[name] is not cls:
            raise ValueError(f"mask strategy '{name}' is registered twice")
        cls.name = name
        _STRATEGIES[name] = cls
        return cls

    return decorate


def _load_entry_points() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group=GROUP):
        obj = ep.load()
        if isinstance(obj, type) and issubclass(obj, (MaskStrategy, LearnedStrategy)) and obj not in _STRATEGIES.values():
            register(ep.name)(obj)


def names() -> list[str]:
    """All registered strategy names, in registration order."""
    _load_entry_points()
    return list(_STRATEGIES)


def get(name: str) -> type:
    """The strategy class registered under ``name``."""
    _load_entry_points()
    if name not in _STRATEGIES:
        raise UnknownStrategy(name)
    return _STRATEGIES[name]


def accepted_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``options`` that the strategy's constructor takes (None values are dropped)."""
    params = inspect.signature(get(name)).parameters
    return {k: v for k, v in options.items() if k in params and v is not None}


def effective_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Every constructor option of the strategy as it would be built: ``options`` it takes, defaults for the rest."""
    bound = inspect.signature(get(name)).bind_partial(**accepted_options(name, options))
    bound.apply_defaults()
    return dict(bound.arguments)


def build(name: str, **options: Any) -> MaskStrategy | LearnedStrategy:
    """Build a strategy, passing only the options its constructor accepts; records them all in ``.options``."""
    strategy = get(name)(**accepted_options(name, options))
    strategy.options = effective_options(name, options)
    return strategy
