"""The mask contract, the registry, applying masks and mask statistics."""

from masks.apply import apply_masks
from masks.contract import LearnedStrategy, MaskStrategy, is_learned
from masks.registry import UnknownStrategy, accepted_options, build, effective_options, get, names, register

__all__ = [
    "LearnedStrategy",
    "MaskStrategy",
    "UnknownStrategy",
    "accepted_options",
    "apply_masks",
    "build",
    "effective_options",
    "get",
    "is_learned",
    "names",
    "register",
]
