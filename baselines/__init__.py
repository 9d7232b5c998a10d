"""The static mask strategies, one module each. Importing this package registers every module in it.

There is no list to keep: a new module in this folder that decorates its class with
``@masks.register("name")`` is registered, listed and tested like the others. ``none`` is imported
first, so that the plain-SSL baseline leads every listing; the rest follow in alphabetical order.
"""

import importlib
import pkgutil

from baselines import none  # noqa: F401

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
