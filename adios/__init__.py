"""adios: compare mask strategies for self-supervised vision, ADIOS (Shi et al., ICML 2022) among them.

Everything the CLI does is two imports away::

    from adios import Comparison, preset, run_comparison
    records = run_comparison(Comparison(preset("quick"), ["none", "random-patch"]), Path("runs/nb"))
"""

import baselines  # noqa: F401  (registers the static strategies)
from adios.data import load_dataset
from adios.method import masker  # noqa: F401  (registers adios and adios-s)
from adios.runner.comparison import Comparison, run_comparison
from adios.runner.settings import RunSettings, preset

__all__ = ["Comparison", "RunSettings", "load_dataset", "preset", "run_comparison"]
