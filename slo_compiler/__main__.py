"""`python -m slo_compiler` runs the command line."""

from .entry import main

main()
