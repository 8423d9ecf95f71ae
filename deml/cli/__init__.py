"""The `deml` command line: the root app (`app`), the context every command shares
(`context`), and one module per command group (chain, contracts, data and ipfs, model,
status and claim, dashboard).

May import anything in deml. Never flows/, tasks/, bench/ or Prefect: the commands that
start flows register themselves through the `deml.commands` entry points.
"""
