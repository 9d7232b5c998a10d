"""The static mask strategies, one module each. Importing this package registers them, in this order."""

# The import order is the registration order, which the CLI and the reports list.
# isort: off
from baselines import none
from baselines import random_patch
from baselines import mae
from baselines import context_encoder
from baselines import beit
from baselines import sift_bovw
from baselines import ground_truth
from baselines import hide_main_object

# isort: on

__all__ = ["beit", "context_encoder", "ground_truth", "hide_main_object", "mae", "none", "random_patch", "sift_bovw"]
