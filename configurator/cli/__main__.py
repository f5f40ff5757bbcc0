"""`python -m configurator.cli ...`: the `configurator` command."""
from . import main

main()
