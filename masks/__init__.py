"""The mask contract, the registry, applying masks and mask statistics."""

from masks.apply import apply_masks
from masks.contract import LearnedStrategy, MaskStrategy, is_learned
from masks.registry import (
    STRATEGIES,
    Registry,
    UnknownName,
    UnknownStrategy,
    accepted_options,
    build,
    constructor_options,
    effective_options,
    get,
    load_strategy_file,
    names,
    register,
    takes_area,
)

__all__ = [
    "STRATEGIES",
    "LearnedStrategy",
    "MaskStrategy",
    "Registry",
    "UnknownName",
    "UnknownStrategy",
    "accepted_options",
    "apply_masks",
    "build",
    "constructor_options",
    "effective_options",
    "get",
    "is_learned",
    "load_strategy_file",
    "names",
    "register",
    "takes_area",
]
