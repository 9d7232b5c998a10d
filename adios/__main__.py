"""``python -m adios ...`` (and ``torchrun -m adios ...``) runs the command line."""

from adios.cli import main

main()
