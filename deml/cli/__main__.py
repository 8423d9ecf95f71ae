"""`python -m deml.cli`: the `deml` command."""

from deml.cli.app import main

main()
