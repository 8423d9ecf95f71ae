"""`python -m deml.cli`: the `deml` command."""

from deml.cli.entry import main

main()
