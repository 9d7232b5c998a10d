"""Experiments: settings and presets, the comparison grid, one run, reference rows and the results store."""
