"""Our contracts from Python: their types, the commitments they check, typed bindings with
event readers, readable reverts, where each network's factory is deployed, and the build
(solc) and static analysis (Slither) of contracts/.

May import: deml.chain, deml.artifacts, deml.settings, deml.journal and below.
"""
