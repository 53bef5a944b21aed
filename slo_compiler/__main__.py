"""`python -m slo_compiler` runs the command line."""

from .cli import main

main()
