"""adios: compare mask strategies for self-supervised vision, ADIOS (Shi et al., ICML 2022) among them.

Everything the CLI does is two imports away, with the same checks and errors::

    from adios import Comparison, run_comparison
    records = run_comparison(Comparison(strategies=["none", "random-patch"], seeds=[0, 1]), Path("runs/nb"))
"""

import baselines  # noqa: F401  (registers the static strategies)
from adios.data import load_dataset
from adios.method import masker  # noqa: F401  (registers adios and adios-s)
from adios.runner.comparison import Comparison, Plan, prepare, run_comparison
from adios.runner.presets import PRESETS, preset
from adios.runner.record import RunRecord
from adios.runner.settings import RunSettings

__all__ = ["PRESETS", "Comparison", "Plan", "RunRecord", "RunSettings", "load_dataset", "prepare", "preset", "run_comparison"]
