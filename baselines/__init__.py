"""The static mask strategies, one module each. Importing this package registers them."""

from baselines import none, random_patch

__all__ = ["none", "random_patch"]
