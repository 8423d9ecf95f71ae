"""The chain: the client (one connection, local signers, receipts checked, reverts decoded),
the accounts it signs with, and the local anvil node.

May import: deml.exceptions, deml.settings, deml.artifacts, deml._paths. Knows no contract
of ours by name: deml.contracts builds the bindings on top of it.
"""
