"""Registries: one pattern for every kind of thing adios can be extended with.

A :class:`Registry` maps kebab-case names to objects (a class or a factory). Built-ins register with
the decorator ``@REGISTRY.register("name")``; other packages declare an entry point in the registry's
group, which is loaded the first time the registry is read::

    [project.entry-points."adios.masks"]
    my-mask = "my_package.my_module:MyMask"      # an object, registered under the entry-point name
    more = "my_package.masks"                     # or a module whose objects register themselves

A plugin that fails to import, or whose name is already taken, never breaks the others: it is listed
in :meth:`Registry.broken` with the reason. The strategy registry (group ``adios.masks``) is built
here; encoders, objectives, datasets, optimisers and reference rows have their own instances beside
their code in ``adios``.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

from masks.contract import LearnedStrategy, MaskStrategy
from masks.errors import UserError

T = TypeVar("T")


class UnknownName(UserError, KeyError):
    """No entry of that name is registered; ``str()`` gives the message with the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(name)
        self.kind, self.name, self.valid = kind, name, valid

    def __str__(self) -> str:
        return f"unknown {self.kind} '{self.name}'; choose one of: {', '.join(self.valid)}"


class Registry(Generic[T]):
    """Names to objects, from built-in decorators and from the entry-point group ``group``."""

    def __init__(self, kind: str, group: str, check: Callable[[str, Any], None] | None = None) -> None:
        self.kind = kind
        self.group = group
        self._check = check  # raises ValueError for an object that does not keep the kind's contract
        self._entries: dict[str, T] = {}
        self._sources: dict[str, str] = {}
        self._broken: dict[str, str] = {}
        self._loaded = False

    def register(self, name: str, source: str | None = None) -> Callable[[T], T]:
        """Decorator: register an object under ``name``. A second object under a taken name is an error."""

        def decorate(obj: T) -> T:
            where = source or _source_of(obj)
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} '{name}' is registered twice: by {self._sources[name]} and by {where}")
            if isinstance(obj, type) and hasattr(obj, "name"):
                obj.name = name
            self._entries[name] = obj
            self._sources[name] = where
            return obj

        return decorate

    def add_plugin(self, name: str, load: Callable[[], Any], source: str) -> None:
        """Register what ``load()`` returns (an object, or a module that registers itself), or record why it is broken."""
        try:
            obj = load()
        except Exception as error:  # a plugin's import error must not break the others
            self._broken[name] = f"{source}: cannot be imported ({type(error).__name__}: {error})"
            return
        if inspect.ismodule(obj):
            if not any(src.startswith(obj.__name__) for src in self._sources.values()):
                self._broken[name] = f"{source}: the module registers no {self.kind}"
            return
        if name in self._entries and self._entries[name] is not obj:
            self._broken[name] = f"{source}: the name '{name}' clashes with the {self.kind} from {self._sources[name]}"
            return
        if obj in self._entries.values():
            return
        try:
            if self._check is not None:
                self._check(name, obj)
        except Exception as error:
            self._broken[name] = f"{source}: {error}"
            return
        self.register(name, source)(obj)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=self.group):
            dist = ep.dist.name if ep.dist is not None else "?"
            self.add_plugin(ep.name, ep.load, f"entry point '{ep.name} = {ep.value}' (distribution {dist})")

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and for reloading a strategy file)."""
        self._entries.pop(name, None)
        self._sources.pop(name, None)
        self._broken.pop(name, None)

    def mark_broken(self, name: str, reason: str) -> None:
        """Take ``name`` out of the registry and list it as broken (e.g. it failed a property check)."""
        self._entries.pop(name, None)
        self._broken[name] = f"{self._sources.pop(name, '?')}: {reason}"

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self._load()
        return list(self._entries)

    def get(self, name: str) -> T:
        """The object registered under ``name``; :class:`UnknownName` (with the valid names) otherwise."""
        self._load()
        if name not in self._entries:
            if name in self._broken:
                raise UnknownName(f"{self.kind} (broken: {self._broken[name]})", name, sorted(self._entries))
            raise UnknownName(self.kind, name, sorted(self._entries))
        return self._entries[name]

    def source(self, name: str) -> str:
        self._load()
        return self._sources[name]

    def broken(self) -> dict[str, str]:
        """Plugins that could not be registered, with the reason."""
        self._load()
        return dict(self._broken)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return list(self._entries.items())


def _source_of(obj: Any) -> str:
    """Where an object comes from: ``module.QualifiedName`` (of its type, for an instance)."""
    named = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{named.__module__}.{named.__qualname__}"


def _check_strategy(name: str, obj: Any) -> None:
    if not (isinstance(obj, type) and issubclass(obj, (MaskStrategy, LearnedStrategy))):
        raise ValueError(f"'{name}' is not a mask strategy (subclass masks.MaskStrategy or masks.LearnedStrategy)")


#: The mask strategies: built-ins (``baselines``, ``adios.method.masker``) and plugins (group ``adios.masks``).
STRATEGIES: Registry[type] = Registry("strategy", "adios.masks", _check_strategy)

#: Raised by :func:`get` for an unknown strategy (kept for the older name).
UnknownStrategy = UnknownName


def register(name: str) -> Callable[[type], type]:
    """Class decorator: register a mask strategy under its kebab-case CLI ``name``."""
    return STRATEGIES.register(name)


def names() -> list[str]:
    """All registered strategy names, in registration order."""
    return STRATEGIES.names()


def get(name: str) -> type:
    """The strategy class registered under ``name``."""
    return STRATEGIES.get(name)


def load_strategy_file(path: str | Path) -> list[str]:
    """Import a single Python file whose classes register strategies with ``@masks.register``; returns the new names.

    For quick experiments without a package (``--strategy-file``). Raises ValueError naming the problem.
    """
    path = Path(path)
    if not path.is_file() or path.suffix != ".py":
        raise ValueError(f"--strategy-file {path}: not a Python file")
    before = set(STRATEGIES.names())
    module_name = f"adios_strategy_file_{abs(hash(str(path.resolve())))}"
    if module_name in sys.modules:
        return [n for n in STRATEGIES.names() if STRATEGIES.source(n).startswith(module_name)]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except ValueError as error:
        del sys.modules[module_name]
        raise ValueError(f"--strategy-file {path}: {error}") from None
    except Exception as error:
        del sys.modules[module_name]
        raise ValueError(f"--strategy-file {path} cannot be imported ({type(error).__name__}: {error})") from None
    added = [n for n in STRATEGIES.names() if n not in before]
    if not added:
        raise ValueError(
            f"--strategy-file {path} registers no strategy: decorate a MaskStrategy subclass with @masks.register('name')"
        )
    return added


def constructor_options(name: str) -> dict[str, inspect.Parameter]:
    """The options a strategy's constructor takes (``image_size`` aside), as ``inspect.Parameter`` objects."""
    params = inspect.signature(get(name)).parameters
    return {k: p for k, p in params.items() if k != "image_size" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def takes_area(name: str) -> bool:
    """Whether a strategy takes a target hidden fraction: its constructor has a ``mask_area`` argument.

    Only these are matched by ``--match-area``; the table and the report say which rows were.
    """
    return "mask_area" in constructor_options(name)


def options_for(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options that apply to strategy ``name``: plain keys apply to every strategy, ``"name.key"`` to this one only."""
    plain = {k: v for k, v in options.items() if "." not in k}
    scoped = {k.split(".", 1)[1]: v for k, v in options.items() if k.startswith(f"{name}.")}
    return {**plain, **scoped}


def accepted_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options for ``name`` (see :func:`options_for`) that its constructor takes (None values are dropped)."""
    params = inspect.signature(get(name)).parameters
    return {k: v for k, v in options_for(name, options).items() if k in params and v is not None}


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
